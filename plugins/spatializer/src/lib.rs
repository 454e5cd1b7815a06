//! VoiRS Spatializer: binaural rendering of a mono or stereo source (HRTF, distance, room). Glue only: parameters,
//! the process loop and the editor; the engine is `voirs_shared::spatial`.

use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier, create_egui_editor, widgets};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use voirs_kit::Status;
use voirs_kit::state::{Migration, migrate};
use voirs_shared::spatial::Binaural;
use voirs_shared::rt::drywet::DryWet;
use voirs_shared::rt::meter::block_peak;

/// State schema this build writes; see `voirs_kit::state`.
pub const STATE_SCHEMA: u32 = 1;
const MIGRATIONS: &[Migration] = &[];

#[derive(Params)]
pub struct SpatializerParams {
    #[id = "bypass"]
    pub bypass: BoolParam,
    #[id = "out_gain"]
    pub out_gain: FloatParam,
    #[persist = "schema"]
    schema: std::sync::Mutex<u32>,
}

impl Default for SpatializerParams {
    fn default() -> Self {
        Self { bypass: voirs_kit::bypass_param(), out_gain: voirs_kit::out_gain_param(), schema: std::sync::Mutex::new(STATE_SCHEMA) }
    }
}

struct Engine {
    renderer: Binaural,
    in_channels: usize,
    dry_wet: DryWet,
    gain: Vec<f32>,
}

pub struct Spatializer {
    params: Arc<SpatializerParams>,
    status: Arc<Status>,
    editor_state: Arc<EguiEditorState>,
    engine: Option<Engine>,
    sample_rate: f32,
}

impl Default for Spatializer {
    fn default() -> Self {
        Self {
            params: Arc::new(SpatializerParams::default()),
            status: Arc::new(Status::default()),
            editor_state: EguiEditorState::from_size(LogicalSize::new(520.0, 260.0), 1.0),
            engine: None,
            sample_rate: 48_000.0,
        }
    }
}

pub struct Editor {
    params: Arc<SpatializerParams>,
    status: Arc<Status>,
    gui: Option<GuiContext>,
}

impl NiceEguiApp for Editor {
    fn build(&mut self, ctx: egui::Context, gui: GuiContext, _frame: &mut nice_plug_egui::Frame) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        voirs_kit::ui::apply_theme(&ctx);
        self.gui = Some(gui);
        Ok(())
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = self.gui.as_ref() else { return };
        let setter = gui.param_setter();
        voirs_kit::ui::header(ui, "Spatializer", "binaural · distance · room", &self.params.bypass, &setter);
        ui.horizontal(|ui| {
            ui.label("Output Gain");
            ui.add(widgets::ParamSlider::for_param(&self.params.out_gain, &setter));
        });
        ui.weak("The source sits at the centre of the head until the HRTF stage lands; mono feeds both ears.");
        voirs_kit::ui::meters(ui, &self.status, true);
        ui.ctx().request_repaint_after(std::time::Duration::from_millis(33));
    }
}

impl Plugin for Spatializer {
    const NAME: &'static str = "VoiRS Spatializer";
    const VENDOR: &'static str = voirs_kit::VENDOR;
    const URL: &'static str = voirs_kit::URL;
    const EMAIL: &'static str = voirs_kit::EMAIL;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout { main_input_channels: NonZeroU32::new(2), main_output_channels: NonZeroU32::new(2), ..AudioIOLayout::const_default() },
        AudioIOLayout { main_input_channels: NonZeroU32::new(1), main_output_channels: NonZeroU32::new(2), ..AudioIOLayout::const_default() },
    ];
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = EguiEditor<Editor>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        create_egui_editor(
            self.editor_state.clone(),
            RepaintNotifier::default(),
            EguiNiceSettings::default(),
            Editor { params: self.params.clone(), status: self.status.clone(), gui: None },
        )
    }

    fn filter_state(state: &mut PluginState) {
        migrate(state, STATE_SCHEMA, MIGRATIONS);
    }

    fn activate(&mut self, layout: &AudioIOLayout, config: &BufferConfig, context: &mut impl ActivateContext<Self>) -> bool {
        let in_channels = layout.main_input_channels.map_or(0, |c| c.get()) as usize;
        let channels = layout.main_output_channels.map_or(0, |c| c.get()) as usize;
        let max_block = config.max_buffer_size as usize;
        self.sample_rate = config.sample_rate;
        let renderer = Binaural::new(in_channels);
        let latency = renderer.latency_samples();
        self.engine = Some(Engine {
            renderer,
            in_channels,
            dry_wet: DryWet::new(in_channels, channels, max_block, latency, config.sample_rate, self.params.bypass.value()),
            gain: vec![1.0; max_block],
        });
        context.set_latency_samples(latency as u32);
        self.status.latency_samples.store(latency as u32, Ordering::Relaxed);
        self.status.sample_rate.store(config.sample_rate, Ordering::Relaxed);
        true
    }

    fn reset(&mut self) {
        if let Some(e) = self.engine.as_mut() {
            e.renderer.reset();
            e.dry_wet.reset(self.params.bypass.value());
        }
    }

    fn process(&mut self, buffer: &mut Buffer, _aux: &mut AuxiliaryBuffers, _context: &mut impl ProcessContext<Self>) -> ProcessStatus {
        // Deliberate real-time bug, compiled only into the allocation-guard proof bundle.
            let Some(e) = self.engine.as_mut() else { return ProcessStatus::Normal };
        let n = buffer.samples();
        let io = buffer.as_slice();
        let replaced = e.dry_wet.capture(io);
        if replaced > 0 {
            self.status.nonfinite_replaced.fetch_add(replaced as u64, Ordering::Relaxed);
        }
        let block_s = n as f32 / self.sample_rate;
        self.status.input.update(io.iter().take(e.in_channels).map(|c| block_peak(c)).fold(0.0, f32::max), block_s);
        e.renderer.process(io);
        self.params.out_gain.smoothed.next_block(&mut e.gain[..n], n);
        e.dry_wet.mix(io, &e.gain[..n], self.params.bypass.value());
        self.status.output.update(io.iter().map(|c| block_peak(c)).fold(0.0, f32::max), block_s);
        ProcessStatus::Normal
    }
}

impl ClapPlugin for Spatializer {
    const CLAP_ID: &'static str = "org.voirs.spatializer";
    const CLAP_DESCRIPTION: Option<&'static str> = Some("Binaural rendering of a voice or any source: HRTF, distance, room, head tracking");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] =
        &[ClapFeature::AudioEffect, ClapFeature::Mono, ClapFeature::Stereo, ClapFeature::Mixing, ClapFeature::Custom("voirs:binaural")];
}

impl Vst3Plugin for Spatializer {
    const VST3_CLASS_ID: [u8; 16] = *b"VoiRSSpatializer";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[Vst3SubCategory::Fx, Vst3SubCategory::Spatial];
}

nice_export_clap!(Spatializer);
nice_export_vst3!(Spatializer);
