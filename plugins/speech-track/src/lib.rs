//! VoiRS Speech Track: speech placed on the DAW timeline. Each note plays the track's clip from
//! its start; the clip is rendered from text by the speech engine, or, until that lands, chosen
//! as a WAV file. Glue only: the player and loader are `voirs_shared::clip`.

use atomic_float::AtomicF32;
use nice_plug::context::gui::ParamSetter;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState, widgets};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use nice_plug::params::persist::PersistentField;
use std::sync::{Arc, Mutex, RwLock};
use voirs_kit::Status;
use voirs_kit::editor::PluginEditor;
use voirs_kit::files::FileChooser;
use voirs_kit::instrument::{InstrumentOut, NoteEngine};
use voirs_kit::state::{Migration, migrate};
use voirs_shared::clip::{self, Clip, ClipPlayer};
use voirs_shared::rt::swap;

pub const STATE_SCHEMA: u32 = 1;
const MIGRATIONS: &[Migration] = &[];

#[derive(Params)]
pub struct SpeechTrackParams {
    #[id = "bypass"]
    pub bypass: BoolParam,
    #[id = "out_gain"]
    pub out_gain: FloatParam,
    /// Path of the clip the track plays (empty: none).
    #[persist = "clip"]
    pub clip: ClipField,
    #[persist = "schema"]
    schema: Mutex<u32>,
}

impl SpeechTrackParams {
    fn new(loader: Arc<Loader>) -> Self {
        Self {
            bypass: voirs_kit::bypass_param(),
            out_gain: voirs_kit::out_gain_param(),
            clip: ClipField { path: RwLock::new(String::new()), loader },
            schema: Mutex::new(STATE_SCHEMA),
        }
    }
}

/// The clip path as saved in the session. Restoring it loads the clip at once: hosts restore
/// state while the plugin is active too (Ardour does, after activating), and the audio must
/// follow the state without waiting for another activation.
pub struct ClipField {
    path: RwLock<String>,
    loader: Arc<Loader>,
}

impl ClipField {
    pub fn path(&self) -> String {
        self.path.read().map(|p| p.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Records a new path without loading (the caller schedules the load off its thread).
    fn set_path(&self, path: String) {
        match self.path.write() {
            Ok(mut p) => *p = path,
            Err(e) => *e.into_inner() = path,
        }
    }
}

impl<'a> PersistentField<'a, String> for ClipField {
    fn set(&self, new_value: String) {
        self.set_path(new_value.clone());
        // State restore runs on the host's main thread, where loading a file is allowed.
        self.loader.load(&new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&String) -> R,
    {
        f(&self.path())
    }
}

/// Loads clips off the audio thread and publishes them to it; shared by `activate`, the
/// background task and the editor.
pub struct Loader {
    publisher: Mutex<swap::Publisher<Clip>>,
    sample_rate: AtomicF32,
    /// The path and rate of the clip last published, so re-activation at the same rate does
    /// not load the file again.
    published: Mutex<Option<(String, f32)>>,
    /// One line for the editor: what is loaded, or why loading failed.
    message: Mutex<String>,
}

impl Loader {
    /// Loads `path` at the current sample rate and publishes it to the audio thread. An empty
    /// path, or a file that cannot be loaded, publishes silence: the track must not go on
    /// playing a clip its state no longer names.
    fn load(&self, path: &str) {
        let sr = self.sample_rate.load(Ordering::Relaxed);
        let key = Some((path.to_owned(), sr));
        if self.published.lock().map(|p| *p == key).unwrap_or(false) {
            return;
        }
        let silent = || Clip { left: Vec::new(), right: Vec::new(), sample_rate: sr, source: PathBuf::new() };
        let (clip, msg) = if path.is_empty() {
            (silent(), String::new())
        } else {
            match clip::load(std::path::Path::new(path), sr) {
                Ok(c) => {
                    let name = c.source.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                    let msg = format!("{name} · {:.2} s", c.left.len() as f32 / sr);
                    (c, msg)
                }
                Err(e) => {
                    nice_warn!("{e}");
                    (silent(), e.to_string())
                }
            }
        };
        let msg = match self.publisher.lock().map(|mut p| p.publish(Box::new(clip))) {
            Ok(Ok(())) => {
                if let Ok(mut p) = self.published.lock() {
                    *p = key;
                }
                msg
            }
            _ => "the audio thread is not taking clips right now; choose the clip again".to_owned(),
        };
        if let Ok(mut m) = self.message.lock() {
            *m = msg;
        }
    }
}

pub enum Task {
    LoadClip,
}

/// The clip player as a note engine, reading whichever clip the loader last published.
struct Player {
    player: ClipPlayer,
    clip: swap::Subscriber<Clip>,
    sample_rate: f32,
}

impl NoteEngine for Player {
    fn note_on(&mut self, key: u8, velocity: f32) {
        self.player.note_on(key, velocity);
    }
    fn note_off(&mut self, key: u8) {
        self.player.note_off(key);
    }
    fn release_all(&mut self) {
        self.player.release_all();
    }
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        let sr = self.sample_rate;
        self.player.render_add(self.clip.current().filter(|c| c.sample_rate == sr), left, right);
    }
    fn voices(&self) -> usize {
        self.player.active()
    }
}

pub struct SpeechTrack {
    params: Arc<SpeechTrackParams>,
    status: Arc<Status>,
    editor_state: Arc<EguiEditorState>,
    loader: Arc<Loader>,
    /// Kept across activations: it owns the audio end of the loader's channel.
    player: Player,
    out: Option<InstrumentOut>,
}

impl Default for SpeechTrack {
    fn default() -> Self {
        let (publisher, subscriber) = swap::channel(None);
        let loader = Arc::new(Loader {
            publisher: Mutex::new(publisher),
            sample_rate: AtomicF32::new(48_000.0),
            published: Mutex::new(None),
            message: Mutex::new(String::new()),
        });
        Self {
            params: Arc::new(SpeechTrackParams::new(loader.clone())),
            status: Arc::new(Status::default()),
            editor_state: EguiEditorState::from_size(LogicalSize::new(560.0, 340.0), 1.0),
            loader,
            player: Player { player: ClipPlayer::new(48_000.0), clip: subscriber, sample_rate: 48_000.0 },
            out: None,
        }
    }
}

pub struct Panel {
    params: Arc<SpeechTrackParams>,
    loader: Arc<Loader>,
    executor: AsyncExecutor<SpeechTrack>,
    chooser: FileChooser,
}

impl voirs_kit::editor::Panel for Panel {
    const TITLE: &'static str = "Speech Track";
    const TAGLINE: &'static str = "speech on the timeline";
    const HAS_INPUT: bool = false;

    fn bypass(&self) -> &BoolParam {
        &self.params.bypass
    }

    fn ui(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        ui.horizontal(|ui| {
            ui.label("Output Gain");
            ui.add(widgets::ParamSlider::for_param(&self.params.out_gain, setter));
        });
        ui.horizontal(|ui| {
            if ui.button("Choose clip…").clicked() {
                self.chooser.open();
            }
            let msg = self.loader.message.lock().map(|m| m.clone()).unwrap_or_default();
            if msg.is_empty() { ui.weak("no clip: each note plays the clip from its start") } else { ui.label(msg) };
        });
        if let Some(path) = self.chooser.show(ui) {
            self.params.clip.set_path(path.display().to_string());
            self.executor.execute_background(Task::LoadClip);
        }
    }
}

impl Plugin for SpeechTrack {
    const NAME: &'static str = "VoiRS Speech Track";
    const VENDOR: &'static str = voirs_kit::VENDOR;
    const URL: &'static str = voirs_kit::URL;
    const EMAIL: &'static str = voirs_kit::EMAIL;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[AudioIOLayout {
        main_input_channels: None,
        main_output_channels: NonZeroU32::new(2),
        ..AudioIOLayout::const_default()
    }];
    const MIDI_INPUT: MidiConfig = MidiConfig::Basic;
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = EguiEditor<PluginEditor<Panel>>;
    type SysExMessage = ();
    type BackgroundTask = Task;

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn task_executor(&mut self) -> TaskExecutor<Self> {
        let loader = self.loader.clone();
        let params = self.params.clone();
        Box::new(move |task| match task {
            Task::LoadClip => loader.load(&params.clip.path()),
        })
    }

    fn editor(&mut self, async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        let start_dir = PathBuf::from(self.params.clip.path()).parent().map(|d| d.to_owned());
        let mut chooser = FileChooser::new("Choose a speech clip (WAV)", &["wav"]);
        if let Some(d) = start_dir.filter(|d| d.is_dir()) {
            chooser.set_dir(d);
        }
        let panel = Panel { params: self.params.clone(), loader: self.loader.clone(), executor: async_executor, chooser };
        voirs_kit::editor::create(self.editor_state.clone(), self.status.clone(), panel)
    }

    fn filter_state(state: &mut PluginState) {
        migrate(state, STATE_SCHEMA, MIGRATIONS);
    }

    fn activate(&mut self, _layout: &AudioIOLayout, config: &BufferConfig, context: &mut impl ActivateContext<Self>) -> bool {
        self.loader.sample_rate.store(config.sample_rate, Ordering::Relaxed);
        // Load (and resample) the clip for this rate before audio starts, so an offline render
        // or a restored session plays it from the first note.
        self.loader.load(&self.params.clip.path());
        self.player.clip.poll();
        self.player.player = ClipPlayer::new(config.sample_rate);
        self.player.sample_rate = config.sample_rate;
        self.out = Some(InstrumentOut::new(config, self.params.bypass.value(), &self.status));
        context.set_latency_samples(0);
        true
    }

    fn reset(&mut self) {
        self.player.player.reset();
        if let Some(out) = self.out.as_mut() {
            out.reset(self.params.bypass.value());
        }
    }

    fn process(&mut self, buffer: &mut Buffer, _aux: &mut AuxiliaryBuffers, context: &mut impl ProcessContext<Self>) -> ProcessStatus {
        let Some(out) = self.out.as_mut() else { return ProcessStatus::Normal };
        self.player.clip.poll();
        out.process(buffer, context, &mut self.player, &self.params.out_gain, self.params.bypass.value(), &self.status);
        ProcessStatus::Normal
    }
}

impl ClapPlugin for SpeechTrack {
    const CLAP_ID: &'static str = "org.voirs.speech-track";
    const CLAP_DESCRIPTION: Option<&'static str> = Some("Text to neural speech, placed on the timeline by notes");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[ClapFeature::Instrument, ClapFeature::Sampler, ClapFeature::Stereo];
}

impl Vst3Plugin for SpeechTrack {
    const VST3_CLASS_ID: [u8; 16] = *b"VoiRSSpeechTrack";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[Vst3SubCategory::Instrument, Vst3SubCategory::Sampler];
}

nice_export_clap!(SpeechTrack);
nice_export_vst3!(SpeechTrack);
