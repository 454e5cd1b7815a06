//! VoiRS Voice Converter: real-time pitch, formant and timbre conversion. Glue only: parameters,
//! the process loop and the editor; the engine is `voirs_shared::convert`.

use nice_plug::context::gui::ParamSetter;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState, widgets};
use std::path::PathBuf;
use std::sync::Arc;
use voirs_kit::Status;
use voirs_kit::editor::PluginEditor;
use voirs_kit::effect::EffectIo;
use voirs_kit::state::{Migration, migrate};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use voirs_shared::convert::{self, ConverterEngine, correct, denoise, gate};
use voirs_shared::rt::trace::Trace;

pub mod matching;
use matching::{MatchState, ProfileField, Tap, Which};

/// Pitch trace: one point every 10 ms, 4 s shown.
const TRACE_STEP_S: f32 = 0.010;
const TRACE_POINTS: usize = 400;

/// State schema this build writes; see `voirs_kit::state`.
pub const STATE_SCHEMA: u32 = 1;
const MIGRATIONS: &[Migration] = &[];

/// The host-facing mode choice (mirrors `convert::Mode`).
#[derive(Enum, Debug, PartialEq, Eq, Clone, Copy)]
pub enum ModeChoice {
    #[id = "live"]
    #[name = "Live (10 ms)"]
    Live,
    #[id = "quality"]
    #[name = "Quality (43 ms)"]
    Quality,
}

impl ModeChoice {
    fn engine(self) -> convert::Mode {
        match self {
            ModeChoice::Live => convert::Mode::Live,
            ModeChoice::Quality => convert::Mode::Quality,
        }
    }
}

/// What becomes of the voice (mirrors `convert::Voice`).
#[derive(Enum, Debug, PartialEq, Eq, Clone, Copy)]
pub enum VoiceChoice {
    Normal,
    Whisper,
    Robot,
}

impl VoiceChoice {
    fn engine(self) -> convert::Voice {
        match self {
            VoiceChoice::Normal => convert::Voice::Normal,
            VoiceChoice::Whisper => convert::Voice::Whisper,
            VoiceChoice::Robot => convert::Voice::Robot,
        }
    }
}

/// Keys for pitch correction.
#[derive(Enum, Debug, PartialEq, Eq, Clone, Copy)]
pub enum Key {
    C,
    #[name = "C♯"]
    Cs,
    D,
    #[name = "E♭"]
    Eb,
    E,
    F,
    #[name = "F♯"]
    Fs,
    G,
    #[name = "A♭"]
    Ab,
    A,
    #[name = "B♭"]
    Bb,
    B,
}

/// Scales for pitch correction (mirrors `correct::Scale`).
#[derive(Enum, Debug, PartialEq, Eq, Clone, Copy)]
pub enum ScaleChoice {
    Chromatic,
    Major,
    Minor,
}

impl ScaleChoice {
    fn engine(self) -> correct::Scale {
        match self {
            ScaleChoice::Chromatic => correct::Scale::Chromatic,
            ScaleChoice::Major => correct::Scale::Major,
            ScaleChoice::Minor => correct::Scale::Minor,
        }
    }
}

#[derive(Params)]
pub struct ConverterParams {
    #[id = "bypass"]
    pub bypass: BoolParam,
    /// Live or Quality. Changing it changes the latency: the plugin asks the host to restart it.
    #[id = "mode"]
    pub mode: EnumParam<ModeChoice>,
    #[id = "pitch"]
    pub pitch: IntParam,
    #[id = "cents"]
    pub cents: FloatParam,
    #[id = "formant"]
    pub formant: FloatParam,
    /// The gender/age macro: adds to Pitch and Formant (`convert::character_shift`).
    #[id = "gender"]
    pub gender: FloatParam,
    #[id = "age"]
    pub age: FloatParam,
    /// Normal, whisper (noise through the voice's envelope) or robot (a monotone on the key).
    #[id = "voice"]
    pub voice: EnumParam<VoiceChoice>,
    /// Pitch correction to a key and scale.
    #[id = "correct"]
    pub correct: BoolParam,
    #[id = "key"]
    pub key: EnumParam<Key>,
    #[id = "scale"]
    pub scale: EnumParam<ScaleChoice>,
    #[id = "retune"]
    pub retune: FloatParam,
    #[id = "humanise"]
    pub humanise: FloatParam,
    #[id = "out_gain"]
    pub out_gain: FloatParam,
    /// How far toward the reference voice (its pitch and formant shift from the learned input),
    /// 0–100 %. Acts once a reference is loaded and the input learned.
    #[id = "match"]
    pub match_amount: FloatParam,
    /// Dry/wet: the converted voice against the latency-aligned input.
    #[id = "mix"]
    pub mix: FloatParam,
    /// The reference voice's measured profile (never its path).
    #[persist = "reference"]
    pub reference: ProfileField,
    /// The performer's learned profile.
    #[persist = "input_voice"]
    pub input_voice: ProfileField,
    #[persist = "schema"]
    schema: std::sync::Mutex<u32>,
    /// Denoise (RNNoise) before the shifter. On/off changes the latency: a host restart, as Mode.
    #[id = "denoise"]
    pub denoise: BoolParam,
    /// How much of the denoised signal replaces the input (latency-aligned mix).
    #[id = "denoise_amount"]
    pub denoise_amount: FloatParam,
    /// The VAD gate (silero) before the shifter. On/off changes the latency: a host restart.
    #[id = "gate"]
    pub gate: BoolParam,
    #[id = "gate_threshold"]
    pub gate_threshold: FloatParam,
    #[id = "gate_range"]
    pub gate_range: FloatParam,
    #[id = "gate_attack"]
    pub gate_attack: FloatParam,
    #[id = "gate_hold"]
    pub gate_hold: FloatParam,
    #[id = "gate_release"]
    pub gate_release: FloatParam,
}

impl ConverterParams {
    fn new(matching: Arc<MatchState>) -> Self {
        Self {
            bypass: voirs_kit::bypass_param(),
            mode: EnumParam::new("Mode", ModeChoice::Live),
            pitch: IntParam::new("Pitch", 0, IntRange::Linear { min: -24, max: 24 })
                .with_unit(" st")
                .with_value_to_string(Arc::new(|v| if v > 0 { format!("+{v}") } else { v.to_string() })),
            cents: FloatParam::new("Fine", 0.0, FloatRange::Linear { min: -100.0, max: 100.0 })
                .with_step_size(0.1)
                .with_unit(" ct")
                .with_value_to_string(formatters::v2s_f32_rounded(1)),
            formant: FloatParam::new("Formant", 0.0, FloatRange::Linear { min: -12.0, max: 12.0 })
                .with_step_size(0.1)
                .with_unit(" st")
                .with_value_to_string(formatters::v2s_f32_rounded(1)),
            gender: FloatParam::new("Gender", 0.0, FloatRange::Linear { min: -100.0, max: 100.0 })
                .with_step_size(1.0)
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_rounded(0)),
            age: FloatParam::new("Age", 0.0, FloatRange::Linear { min: -100.0, max: 100.0 })
                .with_step_size(1.0)
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_rounded(0)),
            voice: EnumParam::new("Voice", VoiceChoice::Normal),
            correct: BoolParam::new("Correction", false),
            key: EnumParam::new("Key", Key::C),
            scale: EnumParam::new("Scale", ScaleChoice::Chromatic),
            retune: FloatParam::new("Retune", 50.0, FloatRange::Skewed { min: 0.0, max: 400.0, factor: FloatRange::skew_factor(-1.5) })
                .with_step_size(1.0)
                .with_unit(" ms")
                .with_value_to_string(formatters::v2s_f32_rounded(0)),
            humanise: FloatParam::new("Humanise", 0.0, FloatRange::Linear { min: 0.0, max: 100.0 })
                .with_step_size(1.0)
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_rounded(0)),
            out_gain: voirs_kit::out_gain_param(),
            match_amount: FloatParam::new("Match", 100.0, FloatRange::Linear { min: 0.0, max: 100.0 })
                .with_step_size(1.0)
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_rounded(0)),
            mix: FloatParam::new("Mix", 1.0, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_smoother(SmoothingStyle::Linear(20.0))
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage()),
            reference: ProfileField { state: matching.clone(), which: Which::Reference },
            input_voice: ProfileField { state: matching, which: Which::Input },
            schema: std::sync::Mutex::new(STATE_SCHEMA),
            denoise: BoolParam::new("Denoise", false),
            denoise_amount: FloatParam::new("Denoise Amount", 100.0, FloatRange::Linear { min: 0.0, max: 100.0 })
                .with_step_size(1.0)
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_rounded(0)),
            gate: BoolParam::new("VAD Gate", false),
            gate_threshold: FloatParam::new("Gate Threshold", 50.0, FloatRange::Linear { min: 1.0, max: 99.0 })
                .with_step_size(1.0)
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_rounded(0)),
            gate_range: FloatParam::new("Gate Range", -40.0, FloatRange::Linear { min: -80.0, max: 0.0 })
                .with_step_size(0.5)
                .with_unit(" dB")
                .with_value_to_string(formatters::v2s_f32_rounded(1)),
            gate_attack: FloatParam::new("Gate Attack", 2.0, FloatRange::Skewed { min: 0.1, max: gate::MAX_ATTACK_S * 1000.0, factor: FloatRange::skew_factor(-1.0) })
                .with_step_size(0.1)
                .with_unit(" ms")
                .with_value_to_string(formatters::v2s_f32_rounded(1)),
            gate_hold: FloatParam::new("Gate Hold", 100.0, FloatRange::Linear { min: 0.0, max: 500.0 })
                .with_step_size(1.0)
                .with_unit(" ms")
                .with_value_to_string(formatters::v2s_f32_rounded(0)),
            gate_release: FloatParam::new("Gate Release", 150.0, FloatRange::Skewed { min: 10.0, max: 1000.0, factor: FloatRange::skew_factor(-1.0) })
                .with_step_size(1.0)
                .with_unit(" ms")
                .with_value_to_string(formatters::v2s_f32_rounded(0)),
        }
    }
}

/// The stages a running engine was built with; a different wish means a new latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stages {
    mode: convert::Mode,
    denoise: bool,
    gate: bool,
}

impl Stages {
    fn wanted(params: &ConverterParams) -> Self {
        Self { mode: params.mode.value().engine(), denoise: params.denoise.value(), gate: params.gate.value() }
    }

    /// The plugin's latency with these stages: each adds its own (no allocation).
    fn latency(self, sample_rate: f32) -> usize {
        convert::latency_for(sample_rate, self.mode)
            + if self.denoise { denoise::latency_for(sample_rate) } else { 0 }
            + if self.gate { gate::latency_for(sample_rate) } else { 0 }
    }
}

/// Which detector the VAD gate runs on (for the editor).
pub const VAD_OFF: u8 = 0;
pub const VAD_SILERO: u8 = 1;
pub const VAD_DSP: u8 = 2;

/// What the denoise and gate stages tell the editor: their latencies (samples), which detector
/// the gate uses, and how many results came back late (the fallback played instead).
#[derive(Default)]
pub struct StageStatus {
    pub denoise_latency: AtomicU64,
    pub gate_latency: AtomicU64,
    pub vad: AtomicU8,
    pub vad_late: AtomicU64,
    pub denoise_late: AtomicU64,
}

struct Engine {
    converter: ConverterEngine,
    stages: Stages,
    denoise: Option<denoise::Denoise>,
    gate: Option<gate::Gate>,
    io: EffectIo,
    sample_rate: f32,
    /// Samples until the next pitch-trace point.
    trace_countdown: usize,
    trace_step: usize,
    /// Feeds the learner and the similarity meter.
    tap: Tap,
}

/// Work the editor hands to the host's background thread.
pub enum Task {
    /// Measure a reference recording.
    LoadReference(PathBuf),
}

pub struct VoiceConverter {
    params: Arc<ConverterParams>,
    status: Arc<Status>,
    stage_status: Arc<StageStatus>,
    /// Input and output pitch (Hz, NaN when unvoiced) for the editor's traces and tuner.
    trace: Arc<Trace<2>>,
    matching: Arc<MatchState>,
    editor_state: Arc<EguiEditorState>,
    engine: Option<Engine>,
}

impl Default for VoiceConverter {
    fn default() -> Self {
        let matching = Arc::new(MatchState::default());
        Self {
            params: Arc::new(ConverterParams::new(matching.clone())),
            matching,
            status: Arc::new(Status::default()),
            stage_status: Arc::new(StageStatus::default()),
            trace: Arc::new(Trace::new(TRACE_POINTS)),
            editor_state: EguiEditorState::from_size(LogicalSize::new(520.0, 780.0), 1.0),
            engine: None,
        }
    }
}

pub struct Panel {
    params: Arc<ConverterParams>,
    trace: Arc<Trace<2>>,
    matching: Arc<MatchState>,
    executor: AsyncExecutor<VoiceConverter>,
    chooser: voirs_kit::files::FileChooser,
    status: Arc<Status>,
    stages: Arc<StageStatus>,
}

const NOTE_NAMES: [&str; 12] = ["C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B"];

/// "A3 +23 ct" for a frequency.
fn note_text(hz: f32) -> String {
    let midi = 69.0 + 12.0 * (hz / 440.0).log2();
    let n = midi.round();
    let cents = ((midi - n) * 100.0).round() as i32;
    let name = NOTE_NAMES[(n as i32).rem_euclid(12) as usize];
    format!("{name}{} {cents:+} ct", (n as i32).div_euclid(12) - 1)
}

impl Panel {
    /// The tuner line and the input (grey) and output (accent) pitch traces of the last 4 s, in
    /// semitones, with a line at every note.
    fn pitch_view(&self, ui: &mut egui::Ui) {
        let points = self.trace.snapshot();
        let last = points.iter().rev().find(|p| p[0].is_finite());
        ui.label(match last {
            Some(p) => format!("input {} ({:.1} Hz)  →  output {} ({:.1} Hz)", note_text(p[0]), p[0], note_text(p[1]), p[1]),
            None => "input: no voice heard yet".to_owned(),
        });
        let (rect, _) = ui.allocate_exact_size(egui::vec2(ui.available_width(), 90.0), egui::Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, egui::Color32::from_gray(22));
        let midi = |hz: f32| 69.0 + 12.0 * (hz / 440.0).log2();
        let (lo, hi) = points.iter().flat_map(|p| p.iter()).filter(|v| v.is_finite() && **v > 0.0).map(|v| midi(*v)).fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), m| (a.min(m), b.max(m)));
        if !lo.is_finite() {
            return;
        }
        let centre = 0.5 * (lo + hi);
        let span = (hi - lo + 2.0).max(12.0);
        let (lo, hi) = (centre - 0.5 * span, centre + 0.5 * span);
        let y = |m: f32| rect.bottom() - (m - lo) / (hi - lo) * rect.height();
        for n in lo.ceil() as i32..=hi.floor() as i32 {
            let c = if n.rem_euclid(12) == 0 { egui::Color32::from_gray(70) } else { egui::Color32::from_gray(38) };
            painter.hline(rect.x_range(), y(n as f32), egui::Stroke::new(1.0, c));
        }
        let dx = rect.width() / TRACE_POINTS as f32;
        let x0 = rect.right() - points.len() as f32 * dx;
        for (series, colour) in [(0usize, egui::Color32::from_gray(150)), (1, voirs_kit::ui::ACCENT)] {
            let mut run: Vec<egui::Pos2> = Vec::new();
            for (i, p) in points.iter().enumerate() {
                if p[series].is_finite() && p[series] > 0.0 {
                    run.push(egui::pos2(x0 + i as f32 * dx, y(midi(p[series]))));
                } else if !run.is_empty() {
                    painter.add(egui::Shape::line(std::mem::take(&mut run), egui::Stroke::new(1.5, colour)));
                }
            }
            if run.len() > 1 {
                painter.add(egui::Shape::line(run, egui::Stroke::new(1.5, colour)));
            }
        }
    }
}

impl Panel {
    /// The reference panel: load a target voice, learn the performer's, how far to match, the
    /// measured profiles and the similarity meter.
    fn reference_view(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let m = &self.matching;
        let reference = m.reference();
        let input = m.input();
        ui.separator();
        ui.horizontal(|ui| {
            ui.strong("Reference voice");
            if ui.button("Load…").clicked() {
                self.chooser.open();
            }
            if reference.is_some() && ui.small_button("Clear").clicked() {
                m.set_reference(None);
                if let Ok(mut msg) = m.message.lock() {
                    msg.clear();
                }
            }
            let msg = m.message.lock().map(|g| g.clone()).unwrap_or_default();
            match (&reference, msg.is_empty()) {
                (_, false) => ui.label(msg),
                (Some(r), true) => ui.label(format!("{} · {:.1} s of voice", r.name, r.voice_s())),
                (None, true) => ui.weak("a WAV of the voice to sound like"),
            };
        });
        if let Some(path) = self.chooser.show(ui) {
            if let Ok(mut msg) = m.message.lock() {
                *msg = format!("measuring {}…", path.display());
            }
            self.executor.execute_background(Task::LoadReference(path));
        }
        ui.horizontal(|ui| {
            let learning = m.learning.load(Ordering::Acquire);
            if learning {
                if ui.button("Stop").clicked() {
                    m.learning.store(false, Ordering::Release);
                }
                ui.label(format!("listening to your voice… {:.1} / {:.0} s", m.learn_voice_s.load(Ordering::Relaxed), voirs_shared::convert::matching::LEARN_VOICE_S));
            } else {
                if ui.button("Learn my voice").clicked() {
                    m.learn_voice_s.store(0.0, Ordering::Relaxed);
                    m.learning.store(true, Ordering::Release);
                }
                match &input {
                    Some(p) => ui.label(format!("learned: {:.0} Hz ({:.0}–{:.0}) · {:.1} s of voice", p.f0_median, p.f0_p10, p.f0_p90, p.voice_s())),
                    None => ui.weak("sing or speak for 8 s so the match knows your voice"),
                };
            }
        });
        ui.horizontal(|ui| {
            ui.label("Match");
            ui.add(widgets::ParamSlider::for_param(&self.params.match_amount, setter));
            if m.active.load(Ordering::Acquire) {
                ui.label(format!("pitch {:+.1} st, formant {:+.1} st", m.pitch.load(Ordering::Relaxed), m.formant.load(Ordering::Relaxed)));
            } else {
                ui.weak("needs a reference and your voice");
            }
        });
        let (si, so) = (m.similarity_in.load(Ordering::Relaxed), m.similarity_out.load(Ordering::Relaxed));
        if si.is_finite() && so.is_finite() {
            ui.label(format!("similarity to the reference (Resemblyzer): input {si:.2} → output {so:.2}"));
        } else if m.meter_on.load(Ordering::Acquire) {
            ui.weak("similarity: waiting for 1.6 s of voice");
        }
        let dropped = m.dropped_chunks.load(Ordering::Relaxed);
        if dropped > 0 {
            ui.colored_label(voirs_kit::ui::WARN, format!("{dropped} chunks of 100 ms skipped by learning/metering: the inference pool was busy"));
        }
        self.profile_view(ui, reference.as_ref(), input.as_ref());
    }

    /// The two measured envelopes (dB over 150 Hz – 5 kHz, log frequency): the reference in the
    /// accent colour, the learned input in grey, with the pitch ranges as bars underneath.
    fn profile_view(&self, ui: &mut egui::Ui, reference: Option<&matching::SavedProfile>, input: Option<&matching::SavedProfile>) {
        if reference.is_none() && input.is_none() {
            return;
        }
        let (rect, _) = ui.allocate_exact_size(egui::vec2(ui.available_width(), 70.0), egui::Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, egui::Color32::from_gray(22));
        let plot = rect.shrink2(egui::vec2(4.0, 4.0)).with_max_y(rect.bottom() - 14.0);
        let all = reference.into_iter().chain(input).flat_map(|p| p.envelope_db.iter().copied());
        let (lo, hi) = all.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let span = (hi - lo).max(6.0);
        for (p, colour) in [(input, egui::Color32::from_gray(150)), (reference, voirs_kit::ui::ACCENT)] {
            let Some(p) = p else { continue };
            let n = p.envelope_db.len().max(2);
            let pts: Vec<egui::Pos2> = p.envelope_db.iter().enumerate().map(|(i, v)| egui::pos2(plot.left() + plot.width() * i as f32 / (n - 1) as f32, plot.bottom() - (v - lo) / span * plot.height())).collect();
            painter.add(egui::Shape::line(pts, egui::Stroke::new(1.5, colour)));
        }
        // Pitch ranges (10th–90th percentile) on a 50 Hz – 1 kHz log axis.
        let x = |hz: f32| rect.left() + rect.width() * ((hz / 50.0).ln() / 20f32.ln()).clamp(0.0, 1.0);
        for (k, (p, colour)) in [(input, egui::Color32::from_gray(150)), (reference, voirs_kit::ui::ACCENT)].into_iter().enumerate() {
            let Some(p) = p else { continue };
            let y = rect.bottom() - 9.0 + 5.0 * k as f32;
            painter.line_segment([egui::pos2(x(p.f0_p10), y), egui::pos2(x(p.f0_p90), y)], egui::Stroke::new(3.0, colour));
            painter.circle_filled(egui::pos2(x(p.f0_median), y), 2.5, egui::Color32::WHITE);
        }
    }

    /// The latency each stage adds (ms) and the fallback counters of the neural stages.
    fn stage_view(&self, ui: &mut egui::Ui) {
        let sr = self.status.sample_rate.load(Ordering::Relaxed).max(1.0);
        let ms = |samples: u64| samples as f32 * 1000.0 / sr;
        let (dn, gt) = (self.stages.denoise_latency.load(Ordering::Relaxed), self.stages.gate_latency.load(Ordering::Relaxed));
        let total = self.status.latency_samples.load(Ordering::Relaxed) as u64;
        ui.label(format!(
            "latency {:.1} ms: shifter {:.1} + denoise {:.1} + gate {:.1}",
            ms(total),
            ms(total.saturating_sub(dn + gt)),
            ms(dn),
            ms(gt)
        ));
        if self.params.denoise.value() {
            ui.weak(format!("denoise: {} late frames played unprocessed", self.stages.denoise_late.load(Ordering::Relaxed)));
        }
        match self.stages.vad.load(Ordering::Relaxed) {
            VAD_SILERO => {
                ui.weak(format!("VAD: silero; {} late results decided by the DSP detector", self.stages.vad_late.load(Ordering::Relaxed)));
            }
            VAD_DSP => {
                let path = voirs_shared::assets::models_dir().join(voirs_shared::neural::vad::FILE);
                ui.weak(format!("VAD: DSP detector only (no silero model at {}; run `cargo xtask models`)", path.display()));
            }
            _ => {}
        }
    }
}

impl voirs_kit::editor::Panel for Panel {
    const TITLE: &'static str = "Voice Converter";
    const TAGLINE: &'static str = "pitch · formant · timbre";
    const HAS_INPUT: bool = true;

    fn bypass(&self) -> &BoolParam {
        &self.params.bypass
    }

    fn ui(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        egui::Grid::new("converter-params").num_columns(2).spacing([12.0, 8.0]).show(ui, |ui| {
            ui.label("Pitch");
            ui.add(widgets::ParamSlider::for_param(&self.params.pitch, setter));
            ui.end_row();
            ui.label("Fine");
            ui.add(widgets::ParamSlider::for_param(&self.params.cents, setter));
            ui.end_row();
            ui.label("Formant");
            ui.add(widgets::ParamSlider::for_param(&self.params.formant, setter));
            ui.end_row();
            ui.label("Gender / Age");
            ui.horizontal(|ui| {
                ui.add(widgets::ParamSlider::for_param(&self.params.gender, setter).with_width(90.0));
                ui.add(widgets::ParamSlider::for_param(&self.params.age, setter).with_width(90.0));
            });
            ui.end_row();
            ui.label("Output Gain");
            ui.add(widgets::ParamSlider::for_param(&self.params.out_gain, setter));
            ui.end_row();
            ui.label("Mode");
            ui.add(widgets::ParamSlider::for_param(&self.params.mode, setter));
            ui.end_row();
            ui.label("Voice");
            ui.add(widgets::ParamSlider::for_param(&self.params.voice, setter));
            ui.end_row();
            ui.label("Correction");
            ui.add(widgets::ParamSlider::for_param(&self.params.correct, setter));
            ui.end_row();
            ui.label("Key / Scale");
            ui.horizontal(|ui| {
                ui.add(widgets::ParamSlider::for_param(&self.params.key, setter).with_width(70.0));
                ui.add(widgets::ParamSlider::for_param(&self.params.scale, setter).with_width(100.0));
            });
            ui.end_row();
            ui.label("Retune");
            ui.add(widgets::ParamSlider::for_param(&self.params.retune, setter));
            ui.end_row();
            ui.label("Humanise");
            ui.add(widgets::ParamSlider::for_param(&self.params.humanise, setter));
            ui.end_row();
            ui.label("Mix");
            ui.add(widgets::ParamSlider::for_param(&self.params.mix, setter));
            ui.end_row();
            ui.label("Denoise");
            ui.horizontal(|ui| {
                ui.add(widgets::ParamSlider::for_param(&self.params.denoise, setter).with_width(60.0));
                ui.add(widgets::ParamSlider::for_param(&self.params.denoise_amount, setter).with_width(110.0));
            });
            ui.end_row();
            ui.label("VAD Gate / Threshold");
            ui.horizontal(|ui| {
                ui.add(widgets::ParamSlider::for_param(&self.params.gate, setter).with_width(60.0));
                ui.add(widgets::ParamSlider::for_param(&self.params.gate_threshold, setter).with_width(110.0));
            });
            ui.end_row();
            ui.label("Range / Attack");
            ui.horizontal(|ui| {
                ui.add(widgets::ParamSlider::for_param(&self.params.gate_range, setter).with_width(90.0));
                ui.add(widgets::ParamSlider::for_param(&self.params.gate_attack, setter).with_width(80.0));
            });
            ui.end_row();
            ui.label("Hold / Release");
            ui.horizontal(|ui| {
                ui.add(widgets::ParamSlider::for_param(&self.params.gate_hold, setter).with_width(90.0));
                ui.add(widgets::ParamSlider::for_param(&self.params.gate_release, setter).with_width(80.0));
            });
            ui.end_row();
        });
        self.stage_view(ui);
        self.pitch_view(ui);
        ui.weak("Pitch moves the voice and keeps its formants; Formant moves them on their own.");
        ui.weak("Live: 10 ms, to hear yourself perform. Quality: 43 ms, cleanest for mixing.");
        self.reference_view(ui, setter);
    }
}

impl VoiceConverter {
    /// Everything the engine takes from the parameters (and the reference match) each block.
    fn apply(params: &ConverterParams, matching: &MatchState, converter: &mut ConverterEngine) {
        let (mut pitch, mut formant) = convert::character_shift(params.gender.value() / 100.0, params.age.value() / 100.0);
        if matching.active.load(Ordering::Acquire) {
            let amount = params.match_amount.value() / 100.0;
            pitch += amount * matching.pitch.load(Ordering::Relaxed);
            formant += amount * matching.formant.load(Ordering::Relaxed);
        }
        converter.set_pitch(params.pitch.value() as f32 + pitch, params.cents.value());
        converter.set_formant(params.formant.value() + formant);
        converter.set_voice(params.voice.value().engine());
        converter.set_correction(
            params.correct.value(),
            params.key.value() as i32,
            params.scale.value().engine(),
            params.retune.value(),
            params.humanise.value() / 100.0,
        );
    }
}

impl VoiceConverter {
    /// The denoise amount and gate settings, each block.
    fn apply_stages(params: &ConverterParams, denoise: Option<&mut denoise::Denoise>, gate: Option<&mut gate::Gate>) {
        if let Some(d) = denoise {
            d.set_amount(params.denoise_amount.value() / 100.0);
        }
        if let Some(g) = gate {
            g.set(gate::Settings {
                threshold: params.gate_threshold.value() / 100.0,
                range_db: params.gate_range.value(),
                attack_s: params.gate_attack.value() / 1000.0,
                hold_s: params.gate_hold.value() / 1000.0,
                release_s: params.gate_release.value() / 1000.0,
            });
        }
    }
}

impl Plugin for VoiceConverter {
    const NAME: &'static str = "VoiRS Voice Converter";
    const VENDOR: &'static str = voirs_kit::VENDOR;
    const URL: &'static str = voirs_kit::URL;
    const EMAIL: &'static str = voirs_kit::EMAIL;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout { main_input_channels: NonZeroU32::new(2), main_output_channels: NonZeroU32::new(2), ..AudioIOLayout::const_default() },
        AudioIOLayout { main_input_channels: NonZeroU32::new(1), main_output_channels: NonZeroU32::new(1), ..AudioIOLayout::const_default() },
    ];
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = EguiEditor<PluginEditor<Panel>>;
    type SysExMessage = ();
    type BackgroundTask = Task;

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn task_executor(&mut self) -> TaskExecutor<Self> {
        let matching = self.matching.clone();
        Box::new(move |task| match task {
            Task::LoadReference(path) => matching.load_reference(&path),
        })
    }

    fn editor(&mut self, async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        let chooser = voirs_kit::files::FileChooser::new("Choose a recording of the target voice (WAV)", &["wav"]);
        let panel = Panel { params: self.params.clone(), trace: self.trace.clone(), matching: self.matching.clone(), executor: async_executor, chooser, status: self.status.clone(), stages: self.stage_status.clone() };
        voirs_kit::editor::create(self.editor_state.clone(), self.status.clone(), panel)
    }

    fn filter_state(state: &mut PluginState) {
        migrate(state, STATE_SCHEMA, MIGRATIONS);
    }

    fn activate(&mut self, layout: &AudioIOLayout, config: &BufferConfig, context: &mut impl ActivateContext<Self>) -> bool {
        let channels = layout.main_output_channels.map_or(0, |c| c.get()) as usize;
        let mut converter = ConverterEngine::new(channels, config.sample_rate, self.params.mode.value().engine());
        Self::apply(&self.params, &self.matching, &mut converter);
        converter.settle();
        // Denoise and the gate run before the shifter, so its tracker hears the clean voice.
        // Offline rendering waits for their workers instead of falling back.
        let stages = Stages::wanted(&self.params);
        let offline = config.process_mode == ProcessMode::Offline;
        let mut denoise = stages.denoise.then(|| denoise::Denoise::new(channels, config.sample_rate, offline));
        let mut gate = stages.gate.then(|| gate::Gate::new(channels, config.sample_rate, offline, gate::load_silero().ok()));
        Self::apply_stages(&self.params, denoise.as_mut(), gate.as_mut());
        if let Some(d) = denoise.as_mut() {
            d.settle();
        }
        let ss = &self.stage_status;
        ss.denoise_latency.store(denoise.as_ref().map_or(0, |d| d.latency_samples()) as u64, Ordering::Relaxed);
        ss.gate_latency.store(gate.as_ref().map_or(0, |g| g.latency_samples()) as u64, Ordering::Relaxed);
        ss.vad.store(gate.as_ref().map_or(VAD_OFF, |g| if g.uses_model() { VAD_SILERO } else { VAD_DSP }), Ordering::Relaxed);
        ss.vad_late.store(0, Ordering::Relaxed);
        ss.denoise_late.store(0, Ordering::Relaxed);
        let latency = converter.latency_samples() + denoise.as_ref().map_or(0, |d| d.latency_samples()) + gate.as_ref().map_or(0, |g| g.latency_samples());
        debug_assert_eq!(latency, stages.latency(config.sample_rate));
        let io = EffectIo::new(layout, config, latency, self.params.bypass.value(), &self.status);
        let trace_step = ((TRACE_STEP_S * config.sample_rate) as usize).max(1);
        let tap = Tap::new(self.matching.clone(), config.sample_rate, config.max_buffer_size as usize);
        self.engine = Some(Engine { converter, stages, denoise, gate, io, sample_rate: config.sample_rate, trace_countdown: trace_step, trace_step, tap });
        context.set_latency_samples(latency as u32);
        true
    }

    fn reset(&mut self) {
        if let Some(e) = self.engine.as_mut() {
            Self::apply(&self.params, &self.matching, &mut e.converter);
            e.converter.reset();
            Self::apply_stages(&self.params, e.denoise.as_mut(), e.gate.as_mut());
            if let Some(d) = e.denoise.as_mut() {
                d.reset();
            }
            if let Some(g) = e.gate.as_mut() {
                g.reset();
            }
            e.io.reset(self.params.bypass.value());
        }
    }

    fn process(&mut self, buffer: &mut Buffer, _aux: &mut AuxiliaryBuffers, context: &mut impl ProcessContext<Self>) -> ProcessStatus {
        // Deliberate real-time bug, compiled only into the allocation-guard proof bundle.
        #[cfg(feature = "alloc_bug")]
        std::hint::black_box(vec![0.0f32; 64]);
        let Some(e) = self.engine.as_mut() else { return ProcessStatus::Normal };
        // A new mode, or denoise or the gate switched, means a new latency: report it, and the
        // host restarts the plugin (the engine for the new stages is built in `activate`). Until
        // then the running stages play on, so what the host compensates always matches what it
        // hears.
        let wanted = Stages::wanted(&self.params);
        if wanted != e.stages {
            context.set_latency_samples(wanted.latency(e.sample_rate) as u32);
        }
        let converter = &mut e.converter;
        let tap = &mut e.tap;
        Self::apply(&self.params, &self.matching, converter);
        Self::apply_stages(&self.params, e.denoise.as_mut(), e.gate.as_mut());
        let (denoise, gate) = (&mut e.denoise, &mut e.gate);
        e.io.process_mixed(buffer, &self.params.out_gain, Some(&self.params.mix), self.params.bypass.value(), &self.status, |io| {
            if let Some(d) = denoise.as_mut() {
                d.process(io);
            }
            if let Some(g) = gate.as_mut() {
                g.process(io);
            }
            // Learning and the meter hear what the shifter hears: the cleaned-up voice.
            let tapped = tap.input(io);
            converter.process(io);
            if tapped {
                tap.output(io);
            }
        });
        if let Some(d) = e.denoise.as_ref() {
            self.stage_status.denoise_late.store(d.late(), Ordering::Relaxed);
        }
        if let Some(g) = e.gate.as_ref() {
            self.stage_status.vad_late.store(g.late(), Ordering::Relaxed);
        }
        // A point for the editor's pitch traces every 10 ms: the tracked input and what the
        // shift makes of it.
        let frames = buffer.samples();
        if frames >= e.trace_countdown {
            e.trace_countdown = e.trace_step;
            let est = converter.input_estimate();
            let input = if est.voiced { est.f0 } else { f32::NAN };
            self.trace.push([input, input * 2f32.powf(converter.shift_semitones() / 12.0)]);
        } else {
            e.trace_countdown -= frames;
        }
        ProcessStatus::Normal
    }
}

impl ClapPlugin for VoiceConverter {
    const CLAP_ID: &'static str = "org.voirs.voice-converter";
    const CLAP_DESCRIPTION: Option<&'static str> = Some("Real-time pitch, formant and timbre conversion");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] =
        &[ClapFeature::AudioEffect, ClapFeature::Mono, ClapFeature::Stereo, ClapFeature::PitchShifter];
}

impl Vst3Plugin for VoiceConverter {
    const VST3_CLASS_ID: [u8; 16] = *b"VoiRSVoiceConvtr";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[Vst3SubCategory::Fx, Vst3SubCategory::PitchShift];
}

nice_export_clap!(VoiceConverter);
nice_export_vst3!(VoiceConverter);
