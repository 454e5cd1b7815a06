//! The editor every VoiRS plugin opens: theme, header with bypass, the plugin's own panel, then
//! meters and latency. A plugin supplies only its [`Panel`].

use crate::Status;
use nice_plug::context::gui::{GuiContext, ParamSetter};
use nice_plug::prelude::BoolParam;
use nice_plug_egui::{EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier, create_egui_editor};
use std::sync::Arc;

/// What is particular to one plugin's editor.
pub trait Panel: Send + 'static {
    const TITLE: &'static str;
    const TAGLINE: &'static str;
    /// Effects meter their input too.
    const HAS_INPUT: bool;
    fn bypass(&self) -> &BoolParam;
    fn ui(&mut self, ui: &mut egui::Ui, setter: &ParamSetter);
}

pub struct PluginEditor<P: Panel> {
    panel: P,
    status: Arc<Status>,
    gui: Option<GuiContext>,
}

/// The editor for a plugin: call from `Plugin::editor`.
pub fn create<P: Panel>(state: Arc<EguiEditorState>, status: Arc<Status>, panel: P) -> Option<EguiEditor<PluginEditor<P>>> {
    create_egui_editor(state, RepaintNotifier::default(), EguiNiceSettings::default(), PluginEditor { panel, status, gui: None })
}

impl<P: Panel> NiceEguiApp for PluginEditor<P> {
    fn build(&mut self, ctx: egui::Context, gui: GuiContext, _frame: &mut nice_plug_egui::Frame) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        crate::ui::apply_theme(&ctx);
        self.gui = Some(gui);
        Ok(())
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = self.gui.as_ref() else { return };
        let setter = gui.param_setter();
        crate::ui::header(ui, P::TITLE, P::TAGLINE, self.panel.bypass(), &setter);
        self.panel.ui(ui, &setter);
        crate::ui::meters(ui, &self.status, P::HAS_INPUT);
        // Meters move: keep repainting while the editor is open.
        ui.ctx().request_repaint_after(std::time::Duration::from_millis(33));
    }
}
