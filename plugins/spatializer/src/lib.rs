//! VoiRS Spatializer: binaural rendering of a mono or stereo source (HRTF, distance, room). Glue only: parameters,
//! the process loop and the editor; the engine is `voirs_shared::spatial`.

use nice_plug::context::gui::ParamSetter;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState, widgets};
use std::sync::Arc;
use voirs_kit::Status;
use voirs_kit::editor::PluginEditor;
use voirs_kit::effect::EffectIo;
use voirs_kit::state::{Migration, migrate};
use voirs_shared::spatial::Binaural;

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
    io: EffectIo,
}

pub struct Spatializer {
    params: Arc<SpatializerParams>,
    status: Arc<Status>,
    editor_state: Arc<EguiEditorState>,
    engine: Option<Engine>,
}

impl Default for Spatializer {
    fn default() -> Self {
        Self {
            params: Arc::new(SpatializerParams::default()),
            status: Arc::new(Status::default()),
            editor_state: EguiEditorState::from_size(LogicalSize::new(520.0, 260.0), 1.0),
            engine: None,
        }
    }
}

pub struct Panel {
    params: Arc<SpatializerParams>,
}

impl voirs_kit::editor::Panel for Panel {
    const TITLE: &'static str = "Spatializer";
    const TAGLINE: &'static str = "binaural · distance · room";
    const HAS_INPUT: bool = true;

    fn bypass(&self) -> &BoolParam {
        &self.params.bypass
    }

    fn ui(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        ui.horizontal(|ui| {
            ui.label("Output Gain");
            ui.add(widgets::ParamSlider::for_param(&self.params.out_gain, setter));
        });
        ui.weak("The source sits at the centre of the head until the HRTF stage lands; mono feeds both ears.");
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

    type Editor = EguiEditor<PluginEditor<Panel>>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        voirs_kit::editor::create(self.editor_state.clone(), self.status.clone(), Panel { params: self.params.clone() })
    }

    fn filter_state(state: &mut PluginState) {
        migrate(state, STATE_SCHEMA, MIGRATIONS);
    }

    fn activate(&mut self, layout: &AudioIOLayout, config: &BufferConfig, context: &mut impl ActivateContext<Self>) -> bool {
        let in_channels = layout.main_input_channels.map_or(0, |c| c.get()) as usize;
        let renderer = Binaural::new(in_channels);
        let latency = renderer.latency_samples();
        let io = EffectIo::new(layout, config, latency, self.params.bypass.value(), &self.status);
        self.engine = Some(Engine { renderer, io });
        context.set_latency_samples(latency as u32);
        true
    }

    fn reset(&mut self) {
        if let Some(e) = self.engine.as_mut() {
            e.renderer.reset();
            e.io.reset(self.params.bypass.value());
        }
    }

    fn process(&mut self, buffer: &mut Buffer, _aux: &mut AuxiliaryBuffers, _context: &mut impl ProcessContext<Self>) -> ProcessStatus {
        // Deliberate real-time bug, compiled only into the allocation-guard proof bundle.
            let Some(e) = self.engine.as_mut() else { return ProcessStatus::Normal };
        let renderer = &mut e.renderer;
        e.io.process(buffer, &self.params.out_gain, self.params.bypass.value(), &self.status, |io| renderer.process(io));
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
