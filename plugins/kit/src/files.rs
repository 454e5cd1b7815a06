//! A file chooser drawn inside the plugin's own egui window. Native dialogs are unreliable from a
//! plugin (they need the host's event loop, or a portal the sandbox may lack), so the kit browses
//! the filesystem itself: directories first, filtered by extension, with a typed path field.

use egui::RichText;
use std::path::{Path, PathBuf};

pub struct FileChooser {
    title: String,
    extensions: Vec<String>,
    dir: PathBuf,
    entries: Vec<(String, bool)>,
    typed: String,
    error: Option<String>,
    open: bool,
}

impl FileChooser {
    /// A chooser for files with one of `extensions` (lowercase, without the dot).
    pub fn new(title: &str, extensions: &[&str]) -> Self {
        let dir = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"));
        let mut c = Self {
            title: title.to_owned(),
            extensions: extensions.iter().map(|e| e.to_string()).collect(),
            dir: PathBuf::new(),
            entries: Vec::new(),
            typed: String::new(),
            error: None,
            open: false,
        };
        c.enter(dir);
        c
    }

    pub fn open(&mut self) {
        self.open = true;
        let dir = self.dir.clone();
        self.enter(dir);
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    fn accepts(&self, name: &str) -> bool {
        let lower = name.to_lowercase();
        self.extensions.is_empty() || self.extensions.iter().any(|e| lower.ends_with(&format!(".{e}")))
    }

    fn enter(&mut self, dir: PathBuf) {
        match std::fs::read_dir(&dir) {
            Ok(rd) => {
                let mut entries: Vec<(String, bool)> = rd
                    .filter_map(Result::ok)
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
                        (!name.starts_with('.') && (is_dir || self.accepts(&name))).then_some((name, is_dir))
                    })
                    .collect();
                entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.to_lowercase().cmp(&b.0.to_lowercase())));
                self.entries = entries;
                self.typed = dir.display().to_string();
                self.dir = dir;
                self.error = None;
            }
            Err(e) => self.error = Some(format!("cannot open {}: {e}", dir.display())),
        }
    }

    /// Draws the chooser when open; returns the chosen file once.
    pub fn show(&mut self, ui: &mut egui::Ui) -> Option<PathBuf> {
        if !self.open {
            return None;
        }
        let mut chosen = None;
        let mut go_to: Option<PathBuf> = None;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong(&self.title);
                if ui.small_button("Cancel").clicked() {
                    self.open = false;
                }
            });
            ui.horizontal(|ui| {
                if ui.small_button("Up").clicked() {
                    if let Some(parent) = self.dir.parent() {
                        go_to = Some(parent.to_owned());
                    }
                }
                let edit = ui.text_edit_singleline(&mut self.typed);
                if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    let p = PathBuf::from(self.typed.trim());
                    if p.is_dir() {
                        go_to = Some(p);
                    } else if p.is_file() {
                        chosen = Some(p);
                    } else {
                        self.error = Some(format!("{} does not exist", p.display()));
                    }
                }
            });
            if let Some(e) = &self.error {
                ui.colored_label(crate::ui::WARN, e);
            }
            egui::ScrollArea::vertical().max_height(160.0).show(ui, |ui| {
                for (name, is_dir) in &self.entries {
                    let text = if *is_dir { RichText::new(format!("{name}/")).strong() } else { RichText::new(name) };
                    if ui.selectable_label(false, text).clicked() {
                        let p = self.dir.join(name);
                        if *is_dir { go_to = Some(p) } else { chosen = Some(p) }
                    }
                }
            });
        });
        if let Some(d) = go_to {
            self.enter(d);
        }
        if chosen.is_some() {
            self.open = false;
        }
        chosen
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl FileChooser {
    /// Starts browsing in `dir` (e.g. the folder of the current file).
    pub fn set_dir(&mut self, dir: PathBuf) {
        self.enter(dir);
    }
}
