//! VoiRS Singer: MIDI notes (and, with the lyrics engine, words) in, polyphonic singing out.
//! Glue only: parameters, note handling, the editor; the voice is `voirs_shared::synth`.

use nice_plug::context::gui::ParamSetter;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState, widgets};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use voirs_kit::Status;
use voirs_kit::editor::PluginEditor;
use voirs_kit::instrument::{InstrumentOut, NoteEngine};
use voirs_kit::state::{Migration, migrate};
use voirs_shared::synth::vowel::{Envelope, VowelSynth};

pub const STATE_SCHEMA: u32 = 1;
const MIGRATIONS: &[Migration] = &[];

/// Default envelope: a sung onset and a natural release.
pub const DEFAULT_ATTACK_MS: f32 = 10.0;
pub const DEFAULT_RELEASE_MS: f32 = 150.0;

#[derive(Params)]
pub struct SingerParams {
    #[id = "bypass"]
    pub bypass: BoolParam,
    #[id = "out_gain"]
    pub out_gain: FloatParam,
    #[id = "attack"]
    pub attack: FloatParam,
    #[id = "release"]
    pub release: FloatParam,
    #[persist = "schema"]
    schema: std::sync::Mutex<u32>,
}

fn time_param(name: &str, default_ms: f32, max_ms: f32) -> FloatParam {
    FloatParam::new(name, default_ms, FloatRange::Skewed { min: 1.0, max: max_ms, factor: FloatRange::skew_factor(-2.0) })
        .with_unit(" ms")
        .with_value_to_string(formatters::v2s_f32_rounded(1))
}

impl Default for SingerParams {
    fn default() -> Self {
        Self {
            bypass: voirs_kit::bypass_param(),
            out_gain: voirs_kit::out_gain_param(),
            attack: time_param("Attack", DEFAULT_ATTACK_MS, 2000.0),
            release: time_param("Release", DEFAULT_RELEASE_MS, 5000.0),
            schema: std::sync::Mutex::new(STATE_SCHEMA),
        }
    }
}

/// The Singer's voice as a note engine: the mono vowel synth, centred.
struct Voice {
    synth: VowelSynth,
    envelope: Envelope,
}

impl NoteEngine for Voice {
    fn note_on(&mut self, key: u8, velocity: f32) {
        self.synth.note_on(key, velocity);
    }
    fn note_off(&mut self, key: u8) {
        self.synth.note_off(key);
    }
    fn release_all(&mut self) {
        self.synth.release_all();
    }
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        self.synth.render_add(left, self.envelope);
        right.copy_from_slice(left);
    }
    fn voices(&self) -> usize {
        self.synth.active_voices()
    }
}

struct Engine {
    voice: Voice,
    out: InstrumentOut,
}

pub struct Singer {
    params: Arc<SingerParams>,
    status: Arc<Status>,
    editor_state: Arc<EguiEditorState>,
    engine: Option<Engine>,
}

impl Default for Singer {
    fn default() -> Self {
        Self {
            params: Arc::new(SingerParams::default()),
            status: Arc::new(Status::default()),
            editor_state: EguiEditorState::from_size(LogicalSize::new(520.0, 280.0), 1.0),
            engine: None,
        }
    }
}

pub struct Panel {
    params: Arc<SingerParams>,
    status: Arc<Status>,
}

impl voirs_kit::editor::Panel for Panel {
    const TITLE: &'static str = "Singer";
    const TAGLINE: &'static str = "notes to voice";
    const HAS_INPUT: bool = false;

    fn bypass(&self) -> &BoolParam {
        &self.params.bypass
    }

    fn ui(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        egui::Grid::new("singer-params").num_columns(2).show(ui, |ui| {
            for (label, param) in [("Output Gain", &self.params.out_gain), ("Attack", &self.params.attack), ("Release", &self.params.release)] {
                ui.label(label);
                ui.add(widgets::ParamSlider::for_param(param, setter));
                ui.end_row();
            }
        });
        ui.weak(format!("{} voices sounding · sings \"ah\" until the lyrics engine lands", self.status.voices.load(Ordering::Relaxed)));
    }
}

impl Plugin for Singer {
    const NAME: &'static str = "VoiRS Singer";
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
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        voirs_kit::editor::create(self.editor_state.clone(), self.status.clone(), Panel { params: self.params.clone(), status: self.status.clone() })
    }

    fn filter_state(state: &mut PluginState) {
        migrate(state, STATE_SCHEMA, MIGRATIONS);
    }

    fn activate(&mut self, _layout: &AudioIOLayout, config: &BufferConfig, context: &mut impl ActivateContext<Self>) -> bool {
        let envelope = Envelope { attack_ms: self.params.attack.value(), release_ms: self.params.release.value() };
        self.engine = Some(Engine {
            voice: Voice { synth: VowelSynth::new(config.sample_rate), envelope },
            out: InstrumentOut::new(config, self.params.bypass.value(), &self.status),
        });
        context.set_latency_samples(0);
        true
    }

    fn reset(&mut self) {
        if let Some(e) = self.engine.as_mut() {
            e.voice.synth.reset();
            e.out.reset(self.params.bypass.value());
        }
    }

    fn process(&mut self, buffer: &mut Buffer, _aux: &mut AuxiliaryBuffers, context: &mut impl ProcessContext<Self>) -> ProcessStatus {
        let Some(e) = self.engine.as_mut() else { return ProcessStatus::Normal };
        e.voice.envelope = Envelope { attack_ms: self.params.attack.value(), release_ms: self.params.release.value() };
        e.out.process(buffer, context, &mut e.voice, &self.params.out_gain, self.params.bypass.value(), &self.status);
        ProcessStatus::Normal
    }
}

impl ClapPlugin for Singer {
    const CLAP_ID: &'static str = "org.voirs.singer";
    const CLAP_DESCRIPTION: Option<&'static str> = Some("Polyphonic singing from MIDI notes and lyrics");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[ClapFeature::Instrument, ClapFeature::Synthesizer, ClapFeature::Stereo];
}

impl Vst3Plugin for Singer {
    const VST3_CLASS_ID: [u8; 16] = *b"VoiRSSinger00001";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[Vst3SubCategory::Instrument, Vst3SubCategory::Synth];
}

nice_export_clap!(Singer);
nice_export_vst3!(Singer);
