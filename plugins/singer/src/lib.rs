//! VoiRS Singer: MIDI notes (and, with the lyrics engine, words) in, polyphonic singing out.
//! Glue only: parameters, note handling, the editor; the voice is `voirs_shared::synth`.

use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::midi::Key;
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier, create_egui_editor, widgets};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use voirs_kit::Status;
use voirs_kit::state::{Migration, migrate};
use voirs_shared::rt::fade::Bypass;
use voirs_shared::rt::meter::block_peak;
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

struct Engine {
    synth: VowelSynth,
    bypass: Bypass,
    mono: Vec<f32>,
    gain: Vec<f32>,
}

pub struct Singer {
    params: Arc<SingerParams>,
    status: Arc<Status>,
    editor_state: Arc<EguiEditorState>,
    engine: Option<Engine>,
    sample_rate: f32,
}

impl Default for Singer {
    fn default() -> Self {
        Self {
            params: Arc::new(SingerParams::default()),
            status: Arc::new(Status::default()),
            editor_state: EguiEditorState::from_size(LogicalSize::new(520.0, 280.0), 1.0),
            engine: None,
            sample_rate: 48_000.0,
        }
    }
}

pub struct Editor {
    params: Arc<SingerParams>,
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
        voirs_kit::ui::header(ui, "Singer", "notes to voice", &self.params.bypass, &setter);
        egui::Grid::new("singer-params").num_columns(2).show(ui, |ui| {
            ui.label("Output Gain");
            ui.add(widgets::ParamSlider::for_param(&self.params.out_gain, &setter));
            ui.end_row();
            ui.label("Attack");
            ui.add(widgets::ParamSlider::for_param(&self.params.attack, &setter));
            ui.end_row();
            ui.label("Release");
            ui.add(widgets::ParamSlider::for_param(&self.params.release, &setter));
            ui.end_row();
        });
        ui.weak(format!("{} voices sounding · sings \"ah\" until the lyrics engine lands", self.status.voices.load(Ordering::Relaxed)));
        voirs_kit::ui::meters(ui, &self.status, false);
        ui.ctx().request_repaint_after(std::time::Duration::from_millis(33));
    }
}

impl Singer {
    fn handle_event(synth: &mut VowelSynth, event: NoteEvent<()>) {
        match event {
            NoteEvent::NoteOn { key: Key::Number(k), velocity, .. } => synth.note_on(k, velocity),
            NoteEvent::NoteOff { key: Key::Number(k), .. } | NoteEvent::Choke { key: Key::Number(k), .. } => synth.note_off(k),
            // A wildcard key addresses every sounding note.
            NoteEvent::NoteOff { key: Key::Wildcard, .. } | NoteEvent::Choke { key: Key::Wildcard, .. } => synth.release_all(),
            _ => {}
        }
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

    fn activate(&mut self, _layout: &AudioIOLayout, config: &BufferConfig, context: &mut impl ActivateContext<Self>) -> bool {
        let max_block = config.max_buffer_size as usize;
        self.sample_rate = config.sample_rate;
        self.engine = Some(Engine {
            synth: VowelSynth::new(config.sample_rate),
            bypass: Bypass::new(config.sample_rate, self.params.bypass.value()),
            mono: vec![0.0; max_block],
            gain: vec![1.0; max_block],
        });
        context.set_latency_samples(0);
        self.status.latency_samples.store(0, Ordering::Relaxed);
        self.status.sample_rate.store(config.sample_rate, Ordering::Relaxed);
        true
    }

    fn reset(&mut self) {
        if let Some(e) = self.engine.as_mut() {
            e.synth.reset();
            e.bypass.reset(self.params.bypass.value());
        }
    }

    fn process(&mut self, buffer: &mut Buffer, _aux: &mut AuxiliaryBuffers, context: &mut impl ProcessContext<Self>) -> ProcessStatus {
        let Some(e) = self.engine.as_mut() else { return ProcessStatus::Normal };
        let n = buffer.samples();
        let env = Envelope { attack_ms: self.params.attack.value(), release_ms: self.params.release.value() };
        e.mono[..n].fill(0.0);
        // Render between note events so every note starts on its exact sample.
        let mut pos = 0;
        let mut next = context.next_event();
        while pos < n {
            while let Some(ev) = next {
                if ev.timing() as usize > pos {
                    break;
                }
                Self::handle_event(&mut e.synth, ev);
                next = context.next_event();
            }
            let end = next.map_or(n, |ev| (ev.timing() as usize).min(n));
            e.synth.render_add(&mut e.mono[pos..end], env);
            pos = end;
        }
        while let Some(ev) = next {
            Self::handle_event(&mut e.synth, ev);
            next = context.next_event();
        }
        self.params.out_gain.smoothed.next_block(&mut e.gain[..n], n);
        e.bypass.set_bypassed(self.params.bypass.value());
        let io = buffer.as_slice();
        for i in 0..n {
            // Bypassing an instrument fades it out; voices keep running so un-bypass is seamless.
            let y = Bypass::mix(e.bypass.next_wet_gain(), e.mono[i] * e.gain[i], 0.0);
            for ch in io.iter_mut() {
                ch[i] = y;
            }
        }
        self.status.voices.store(e.synth.active_voices() as u32, Ordering::Relaxed);
        self.status.output.update(block_peak(&e.mono[..n]), n as f32 / self.sample_rate);
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
