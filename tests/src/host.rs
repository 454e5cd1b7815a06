//! The CLAP host proper: bundle loading, instances, extensions, activation and block processing.
//!
//! Everything runs on the thread that created the instance, which is therefore both the main
//! thread and the audio thread. That is allowed by CLAP (the threads are roles, not OS threads)
//! and makes every callback the plugin makes synchronous and observable.

use crate::error::{Context, Error, Result};
use crate::render::{EventKind, Schedule, TimedEvent};
use clack_extensions::audio_ports::{
    AudioPortFlags, AudioPortInfoBuffer, AudioPortRescanFlags, HostAudioPorts, HostAudioPortsImpl,
    PluginAudioPorts,
};
use clack_extensions::audio_ports_config::{AudioPortsConfigBuffer, PluginAudioPortsConfig};
use clack_extensions::latency::{HostLatency, HostLatencyImpl, PluginLatency};
use clack_extensions::log::{HostLog, HostLogImpl, LogSeverity};
use clack_extensions::note_ports::{NoteDialects, NotePortInfoBuffer, PluginNotePorts};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer,
    ParamInfoFlags, ParamRescanFlags, PluginParams,
};
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_extensions::tail::{HostTail, HostTailImpl, PluginTail, TailLength};
use clack_host::events::Match;
use clack_host::events::event_types::{NoteOffEvent, NoteOnEvent, ParamValueEvent};
use clack_host::prelude::*;
use std::cell::Cell;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

// ---------------------------------------------------------------------------------------------
// Host callbacks

/// Host state reachable from any thread: the requests a plugin can make at any time, and logs.
#[derive(Default)]
pub struct SharedState {
    restart_requests: AtomicU32,
    process_requests: AtomicU32,
    callback_requests: AtomicU32,
    /// Pending `request_callback`s not yet answered with `on_main_thread`.
    callback_pending: AtomicU32,
    flush_requests: AtomicU32,
    log: Mutex<Vec<(LogSeverity, String)>>,
}

impl<'a> SharedHandler<'a> for SharedState {
    fn request_restart(&self) {
        self.restart_requests.fetch_add(1, Ordering::SeqCst);
    }
    fn request_process(&self) {
        self.process_requests.fetch_add(1, Ordering::SeqCst);
    }
    fn request_callback(&self) {
        self.callback_requests.fetch_add(1, Ordering::SeqCst);
        self.callback_pending.fetch_add(1, Ordering::SeqCst);
    }
}

impl HostLogImpl for SharedState {
    fn log(&self, severity: LogSeverity, message: &str) {
        // Echo only when asked: test output stays readable, and a failing test can be rerun
        // with VOIRS_HOST_LOG=1 to see what the plugin said.
        if std::env::var_os("VOIRS_HOST_LOG").is_some() {
            eprintln!("[plugin {severity}] {message}");
        }
        if let Ok(mut log) = self.log.lock() {
            log.push((severity, message.to_owned()));
        }
    }
}

impl HostParamsImplShared for SharedState {
    fn request_flush(&self) {
        self.flush_requests.fetch_add(1, Ordering::SeqCst);
    }
}

/// Host state of the main thread: notifications that only arrive there.
#[derive(Default)]
pub struct MainThreadState {
    latency_changed: Cell<u32>,
    param_rescans: Cell<u32>,
    param_clears: Cell<u32>,
    state_dirty: Cell<u32>,
    audio_ports_rescans: Cell<u32>,
}

impl<'a> MainThreadHandler<'a> for MainThreadState {}

impl HostLatencyImpl for MainThreadState {
    fn changed(&self) {
        self.latency_changed.set(self.latency_changed.get() + 1);
    }
}

impl HostParamsImplMainThread for MainThreadState {
    fn rescan(&self, _flags: ParamRescanFlags) {
        self.param_rescans.set(self.param_rescans.get() + 1);
    }
    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {
        self.param_clears.set(self.param_clears.get() + 1);
    }
}

impl HostStateImpl for MainThreadState {
    fn mark_dirty(&self) {
        self.state_dirty.set(self.state_dirty.get() + 1);
    }
}

impl HostAudioPortsImpl for MainThreadState {
    fn is_rescan_flag_supported(&self, _flag: AudioPortRescanFlags) -> bool {
        true
    }
    fn rescan(&self, _flags: AudioPortRescanFlags) {
        self.audio_ports_rescans.set(self.audio_ports_rescans.get() + 1);
    }
}

/// Host state of the audio thread.
#[derive(Default)]
pub struct AudioThreadState {
    tail_changed: u32,
}

impl<'a> AudioProcessorHandler<'a> for AudioThreadState {}

impl HostTailImpl for AudioThreadState {
    fn changed(&mut self) {
        self.tail_changed += 1;
    }
}

/// The host type handed to clack.
pub struct VoirsHost;

impl HostHandlers for VoirsHost {
    type Shared<'a> = SharedState;
    type MainThread<'a> = MainThreadState;
    type AudioProcessor<'a> = AudioThreadState;

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        // Host note-ports is left out on purpose: no VoiRS plugin queries it, and the host side
        // of that extension is not needed to send notes.
        builder
            .register::<HostLog>()
            .register::<HostLatency>()
            .register::<HostParams>()
            .register::<HostState>()
            .register::<HostAudioPorts>()
            .register::<HostTail>();
    }
}

/// What the plugin asked of the host so far, for tests that check it behaves.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HostCounters {
    pub restart_requests: u32,
    pub process_requests: u32,
    pub callback_requests: u32,
    pub flush_requests: u32,
    pub latency_changed: u32,
    pub param_rescans: u32,
    pub param_clears: u32,
    pub state_dirty: u32,
    pub audio_ports_rescans: u32,
}

// ---------------------------------------------------------------------------------------------
// Bundles and descriptors

/// A loaded `.clap` bundle.
pub struct Bundle {
    path: PathBuf,
    entry: PluginEntry,
}

/// A plugin descriptor, copied out of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub version: String,
    pub url: String,
    pub description: String,
    pub features: Vec<String>,
}

fn cstr_opt(s: Option<&std::ffi::CStr>) -> String {
    s.map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

fn host_info() -> HostInfo {
    HostInfo::new("VoiRS test host", "VoiRS", "https://voirs.invalid", env!("CARGO_PKG_VERSION"))
        .expect("host info strings contain no NUL")
}

impl Bundle {
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            crate::bail!("bundle {} does not exist", path.display());
        }
        // SAFETY: loading a shared library runs its initialisers; the VoiRS bundles are ours.
        let entry = unsafe { PluginEntry::load(&path) }.context(|| format!("cannot load {}", path.display()))?;
        // Keep every bundle loaded until the process exits, as DAWs do once they have scanned a
        // plugin. Unloading a Rust cdylib while threads that called into it live on is unsafe:
        // such a thread crashes at exit in a destructor the library registered (seen as a
        // SIGSEGV in __nptl_deallocate_tsd when tests on several threads drop and reload the
        // same bundle). VOIRS_HOST_UNLOAD=1 turns the pinning off to reproduce that.
        if std::env::var_os("VOIRS_HOST_UNLOAD").is_none() {
            std::mem::forget(entry.clone());
        }
        Ok(Self { path, entry })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn descriptors(&self) -> Result<Vec<Descriptor>> {
        let factory = self
            .entry
            .get_plugin_factory()
            .context(|| format!("{} has no plugin factory", self.path.display()))?;
        Ok(factory
            .plugin_descriptors()
            .map(|d| Descriptor {
                id: cstr_opt(d.id()),
                name: cstr_opt(d.name()),
                vendor: cstr_opt(d.vendor()),
                version: cstr_opt(d.version()),
                url: cstr_opt(d.url()),
                description: cstr_opt(d.description()),
                features: d.features().map(|f| f.to_string_lossy().into_owned()).collect(),
            })
            .collect())
    }

    pub fn instantiate(&self, id: &str) -> Result<Instance> {
        let cid = CString::new(id).map_err(|_| Error::new("plugin id contains NUL"))?;
        let instance = PluginInstance::<VoirsHost>::new(
            |_| SharedState::default(),
            |_| MainThreadState::default(),
            &self.entry,
            &cid,
            &host_info(),
        )
        .context(|| format!("cannot instantiate {id} from {}", self.path.display()))?;
        Ok(Instance::new(instance, id.to_owned()))
    }

    /// Instantiates the bundle's only (or first) plugin.
    pub fn instantiate_first(&self) -> Result<Instance> {
        let d = self.descriptors()?;
        let first = d.first().context(|| format!("{} contains no plugin", self.path.display()))?;
        self.instantiate(&first.id)
    }
}

// ---------------------------------------------------------------------------------------------
// Instances

/// A parameter as the plugin describes it. Values are in the plugin's CLAP units, which for
/// nice-plug plugins are normalised 0..1 (0..steps for stepped parameters).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    pub id: u32,
    pub name: String,
    pub module: String,
    pub min: f64,
    pub max: f64,
    pub default: f64,
    pub flags: ParamInfoFlags,
}

impl ParamInfo {
    pub fn is_bypass(&self) -> bool {
        self.flags.contains(ParamInfoFlags::IS_BYPASS)
    }
    pub fn is_stepped(&self) -> bool {
        self.flags.contains(ParamInfoFlags::IS_STEPPED)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPort {
    pub id: u32,
    pub name: String,
    pub channels: u32,
    pub is_main: bool,
    /// "mono", "stereo" or empty.
    pub port_type: String,
    pub in_place_pair: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortsConfig {
    pub id: u32,
    pub name: String,
    pub main_input_channels: Option<u32>,
    pub main_output_channels: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotePort {
    pub id: u32,
    pub name: String,
    pub supports_clap: bool,
    pub supports_midi: bool,
}

/// The activation an instance is running with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Activation {
    pub sample_rate: f64,
    pub min_block: u32,
    pub max_block: u32,
    pub in_channels: usize,
    pub out_channels: usize,
}

#[derive(Clone, Copy)]
struct Extensions {
    params: Option<PluginParams>,
    latency: Option<PluginLatency>,
    state: Option<PluginState>,
    audio_ports: Option<PluginAudioPorts>,
    ports_config: Option<PluginAudioPortsConfig>,
    note_ports: Option<PluginNotePorts>,
    render: Option<PluginRender>,
    tail: Option<PluginTail>,
}

struct Io {
    inputs: Vec<Vec<f32>>,
    in_ports: AudioPorts,
    out_ports: AudioPorts,
    events: EventBuffer,
    out_events: EventBuffer,
}

/// One plugin instance. Dropping it deactivates and destroys the plugin.
pub struct Instance {
    // The processor holds a reference to the instance's internals: it goes first on drop.
    processor: Option<StartedPluginAudioProcessor<VoirsHost>>,
    instance: PluginInstance<VoirsHost>,
    ext: Extensions,
    id: String,
    activation: Option<Activation>,
    io: Io,
    /// Parameter values set while active, sent at the start of the next block (as a DAW does).
    pending_params: Vec<(u32, f64)>,
    steady_time: u64,
    render_mode: RenderMode,
    /// Restart requests already answered (see `activate`).
    restarts_answered: u32,
    /// Fill outputs with NaN before each block, as a stand-in for the garbage real hosts leave in
    /// their buffers: a plugin must write every output sample.
    pub poison_outputs: bool,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.deactivate();
    }
}

impl Instance {
    fn new(mut instance: PluginInstance<VoirsHost>, id: String) -> Self {
        let h = instance.plugin_handle();
        let ext = Extensions {
            params: h.get_extension(),
            latency: h.get_extension(),
            state: h.get_extension(),
            audio_ports: h.get_extension(),
            ports_config: h.get_extension(),
            note_ports: h.get_extension(),
            render: h.get_extension(),
            tail: h.get_extension(),
        };
        Self {
            processor: None,
            instance,
            ext,
            id,
            activation: None,
            io: Io {
                inputs: Vec::new(),
                in_ports: AudioPorts::with_capacity(0, 0),
                out_ports: AudioPorts::with_capacity(0, 0),
                events: EventBuffer::with_capacity(256),
                out_events: EventBuffer::with_capacity(256),
            },
            pending_params: Vec::new(),
            steady_time: 0,
            render_mode: RenderMode::Realtime,
            restarts_answered: 0,
            poison_outputs: true,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn activation(&self) -> Option<Activation> {
        self.activation
    }

    pub fn is_active(&self) -> bool {
        self.processor.is_some()
    }

    pub fn has_extension(&self, name: &str) -> bool {
        let e = &self.ext;
        match name {
            "params" => e.params.is_some(),
            "latency" => e.latency.is_some(),
            "state" => e.state.is_some(),
            "audio-ports" => e.audio_ports.is_some(),
            "audio-ports-config" => e.ports_config.is_some(),
            "note-ports" => e.note_ports.is_some(),
            "render" => e.render.is_some(),
            "tail" => e.tail.is_some(),
            _ => false,
        }
    }

    pub fn counters(&self) -> HostCounters {
        let mut c = self.instance.access_shared_handler(|s| HostCounters {
            restart_requests: s.restart_requests.load(Ordering::SeqCst),
            process_requests: s.process_requests.load(Ordering::SeqCst),
            callback_requests: s.callback_requests.load(Ordering::SeqCst),
            flush_requests: s.flush_requests.load(Ordering::SeqCst),
            ..HostCounters::default()
        });
        self.instance.access_handler(|m| {
            c.latency_changed = m.latency_changed.get();
            c.param_rescans = m.param_rescans.get();
            c.param_clears = m.param_clears.get();
            c.state_dirty = m.state_dirty.get();
            c.audio_ports_rescans = m.audio_ports_rescans.get();
        });
        c
    }

    /// Everything the plugin logged through the host so far.
    pub fn log(&self) -> Vec<(LogSeverity, String)> {
        self.instance.access_shared_handler(|s| s.log.lock().map(|l| l.clone()).unwrap_or_default())
    }

    /// Answers pending `request_callback`s with `on_main_thread`, as a host's event loop would.
    pub fn pump_main_thread(&mut self) {
        let pending = self.instance.access_shared_handler(|s| s.callback_pending.swap(0, Ordering::SeqCst));
        if pending > 0 {
            self.instance.call_on_main_thread_callback();
        }
    }

    // --- parameters -------------------------------------------------------------------------

    fn params_ext(&self) -> Result<PluginParams> {
        self.ext.params.context(|| format!("{} has no params extension", self.id))
    }

    pub fn params(&mut self) -> Result<Vec<ParamInfo>> {
        let p = self.params_ext()?;
        let h = self.instance.plugin_handle();
        let n = p.count(&h);
        let mut out = Vec::with_capacity(n as usize);
        // Only indices below count: asking for index == count is out of contract.
        for i in 0..n {
            let mut buf = ParamInfoBuffer::new();
            let info = p
                .get_info(&h, i, &mut buf)
                .context(|| format!("{}: get_info({i}) failed", self.id))?;
            out.push(ParamInfo {
                id: info.id.get(),
                name: String::from_utf8_lossy(info.name).into_owned(),
                module: String::from_utf8_lossy(info.module).into_owned(),
                min: info.min_value,
                max: info.max_value,
                default: info.default_value,
                flags: info.flags,
            });
        }
        Ok(out)
    }

    /// A parameter by display name ("Output Gain") or string id ("out_gain").
    pub fn param(&mut self, name_or_id: &str) -> Result<ParamInfo> {
        let params = self.params()?;
        let hashed = crate::bundles::clap_param_id(name_or_id);
        params
            .iter()
            .find(|p| p.name == name_or_id)
            .or_else(|| params.iter().find(|p| p.id == hashed))
            .cloned()
            .context(|| {
                format!(
                    "{} has no parameter {name_or_id:?} (has: {})",
                    self.id,
                    params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
                )
            })
    }

    pub fn param_value(&mut self, id: u32) -> Result<f64> {
        let p = self.params_ext()?;
        let cid = ClapId::from_raw(id).context(|| format!("invalid parameter id {id}"))?;
        p.get_value(&self.instance.plugin_handle(), cid)
            .context(|| format!("{}: get_value({id}) failed", self.id))
    }

    pub fn value_to_text(&mut self, id: u32, value: f64) -> Result<String> {
        let p = self.params_ext()?;
        let cid = ClapId::from_raw(id).context(|| format!("invalid parameter id {id}"))?;
        let mut buf = [0u8; 256];
        let text = p
            .value_to_text(&self.instance.plugin_handle(), cid, value, &mut buf)
            .map_err(|_| Error(format!("{}: value_to_text({id}, {value}) failed", self.id)))?;
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    pub fn text_to_value(&mut self, id: u32, text: &str) -> Result<f64> {
        let p = self.params_ext()?;
        let cid = ClapId::from_raw(id).context(|| format!("invalid parameter id {id}"))?;
        let c = CString::new(text).map_err(|_| Error::new("parameter text contains NUL"))?;
        p.text_to_value(&self.instance.plugin_handle(), cid, &c)
            .context(|| format!("{}: text_to_value({id}, {text:?}) failed", self.id))
    }

    /// Sets a parameter to a value in CLAP units. Inactive: flushed now, so it applies from the
    /// first sample after activation. Active: sent at offset 0 of the next processed block.
    pub fn set_param(&mut self, id: u32, value: f64) -> Result<()> {
        let p = self.params_ext()?;
        let cid = ClapId::from_raw(id).context(|| format!("invalid parameter id {id}"))?;
        if self.is_active() {
            self.pending_params.push((id, value));
            return Ok(());
        }
        let ev = ParamValueEvent::new(0, cid, Pckn::match_all(), value);
        let mut out = EventBuffer::new();
        let mut h = self.instance.inactive_plugin_handle().context(|| "plugin is active".to_owned())?;
        p.flush(&mut h, &InputEvents::from_buffer(&[ev]), &mut OutputEvents::from_buffer(&mut out));
        Ok(())
    }

    /// Sets a parameter from its display text ("-6 dB"), converted by the plugin itself.
    pub fn set_param_text(&mut self, id: u32, text: &str) -> Result<f64> {
        let v = self.text_to_value(id, text)?;
        self.set_param(id, v)?;
        Ok(v)
    }

    pub fn set_param_text_by_name(&mut self, name_or_id: &str, text: &str) -> Result<f64> {
        let id = self.param(name_or_id)?.id;
        self.set_param_text(id, text)
    }

    // --- ports, latency, tail -----------------------------------------------------------------

    pub fn audio_ports(&mut self, is_input: bool) -> Result<Vec<AudioPort>> {
        let Some(ext) = self.ext.audio_ports else { return Ok(Vec::new()) };
        let h = self.instance.plugin_handle();
        let n = ext.count(&h, is_input);
        let mut out = Vec::new();
        for i in 0..n {
            let mut buf = AudioPortInfoBuffer::new();
            let info = ext
                .get(&h, i, is_input, &mut buf)
                .context(|| format!("{}: audio port {i} info failed", self.id))?;
            out.push(AudioPort {
                id: info.id.get(),
                name: String::from_utf8_lossy(info.name).into_owned(),
                channels: info.channel_count,
                is_main: info.flags.contains(AudioPortFlags::IS_MAIN),
                port_type: info.port_type.map(|t| t.0.to_string_lossy().into_owned()).unwrap_or_default(),
                in_place_pair: info.in_place_pair.map(|p| p.get()),
            });
        }
        Ok(out)
    }

    pub fn ports_configs(&mut self) -> Result<Vec<PortsConfig>> {
        let Some(ext) = self.ext.ports_config else { return Ok(Vec::new()) };
        let h = self.instance.plugin_handle();
        let n = ext.count(&h);
        let mut out = Vec::new();
        for i in 0..n {
            let mut buf = AudioPortsConfigBuffer::new();
            let c = ext.get(&h, i, &mut buf).context(|| format!("{}: ports config {i} failed", self.id))?;
            out.push(PortsConfig {
                id: c.id.get(),
                name: String::from_utf8_lossy(c.name).into_owned(),
                main_input_channels: c.main_input.map(|m| m.channel_count),
                main_output_channels: c.main_output.map(|m| m.channel_count),
            });
        }
        Ok(out)
    }

    /// Selects the audio-ports configuration with main ports of these channel counts (0 = none).
    pub fn select_layout(&mut self, inputs: u32, outputs: u32) -> Result<()> {
        if self.is_active() {
            crate::bail!("{}: the layout can only change while inactive", self.id);
        }
        let configs = self.ports_configs()?;
        let c = configs
            .iter()
            .find(|c| c.main_input_channels.unwrap_or(0) == inputs && c.main_output_channels.unwrap_or(0) == outputs)
            .context(|| format!("{} has no {inputs}-in/{outputs}-out layout (has {configs:?})", self.id))?;
        let ext = self.ext.ports_config.context(|| "no audio-ports-config".to_owned())?;
        ext.select(&self.instance.plugin_handle(), ClapId::new(c.id))
            .map_err(|_| Error(format!("{}: selecting layout {} refused", self.id, c.name)))
    }

    pub fn note_ports(&mut self, is_input: bool) -> Result<Vec<NotePort>> {
        let Some(ext) = self.ext.note_ports else { return Ok(Vec::new()) };
        let h = self.instance.plugin_handle();
        let n = ext.count(&h, is_input);
        let mut out = Vec::new();
        for i in 0..n {
            let mut buf = NotePortInfoBuffer::new();
            let info = ext.get(&h, i, is_input, &mut buf).context(|| format!("{}: note port {i} failed", self.id))?;
            out.push(NotePort {
                id: info.id.get(),
                name: String::from_utf8_lossy(info.name).into_owned(),
                supports_clap: info.supported_dialects.contains(NoteDialects::CLAP),
                supports_midi: info.supported_dialects.contains(NoteDialects::MIDI),
            });
        }
        Ok(out)
    }

    /// The latency the plugin reports, in samples (0 without the latency extension).
    pub fn latency(&mut self) -> u32 {
        match self.ext.latency {
            Some(l) => l.get(&self.instance.plugin_handle()),
            None => 0,
        }
    }

    /// The tail the plugin reports while active.
    pub fn tail(&mut self) -> Option<TailLength> {
        let t = self.ext.tail?;
        let p = self.processor.as_mut()?;
        Some(t.get(&p.plugin_handle()))
    }

    // --- state --------------------------------------------------------------------------------

    pub fn save_state(&mut self) -> Result<Vec<u8>> {
        let s = self.ext.state.context(|| format!("{} has no state extension", self.id))?;
        let mut bytes = Vec::new();
        s.save(&self.instance.plugin_handle(), &mut bytes)
            .map_err(|e| Error(format!("{}: saving state failed: {e}", self.id)))?;
        self.pump_main_thread();
        Ok(bytes)
    }

    pub fn load_state(&mut self, bytes: &[u8]) -> Result<()> {
        let s = self.ext.state.context(|| format!("{} has no state extension", self.id))?;
        let mut reader = bytes;
        let r = s
            .load(&self.instance.plugin_handle(), &mut reader)
            .map_err(|e| Error(format!("{}: loading state failed: {e}", self.id)));
        self.pump_main_thread();
        r
    }

    // --- render mode and activation -----------------------------------------------------------

    pub fn render_mode(&self) -> RenderMode {
        self.render_mode
    }

    /// Selects realtime or offline rendering. While active this restarts the plugin (deactivate,
    /// set, activate with the same configuration), as CLAP hosts do.
    pub fn set_render_mode(&mut self, mode: RenderMode) -> Result<()> {
        let r = self.ext.render.context(|| format!("{} has no render extension", self.id))?;
        let was = self.activation;
        if was.is_some() {
            self.deactivate();
        }
        r.set(&self.instance.plugin_handle(), mode)
            .map_err(|_| Error(format!("{}: render mode {mode:?} refused", self.id)))?;
        self.render_mode = mode;
        if let Some(a) = was {
            self.activate(a.sample_rate, a.min_block, a.max_block)?;
        }
        Ok(())
    }

    /// Activates at `sample_rate` for blocks of `min_block..=max_block` frames and starts
    /// processing. A plugin may ask for a restart while activating (nice-plug does when its
    /// latency is first set, so the host learns it through `latency.changed` on the next
    /// activation); like a DAW, this answers such requests before audio starts, at most a few
    /// times, and fails if the plugin keeps asking.
    pub fn activate(&mut self, sample_rate: f64, min_block: u32, max_block: u32) -> Result<()> {
        self.activate_once(sample_rate, min_block, max_block)?;
        for _ in 0..3 {
            if !self.restart_pending() {
                return Ok(());
            }
            self.restarts_answered = self.counters().restart_requests;
            self.deactivate();
            self.activate_once(sample_rate, min_block, max_block)?;
        }
        if self.restart_pending() {
            crate::bail!("{} keeps requesting restarts after activation", self.id);
        }
        Ok(())
    }

    /// True when the plugin asked for a restart the host has not carried out yet.
    pub fn restart_pending(&self) -> bool {
        self.counters().restart_requests > self.restarts_answered
    }

    /// Carries out a pending restart request (deactivate, activate with the same settings).
    pub fn restart_if_requested(&mut self) -> Result<bool> {
        if !self.restart_pending() {
            return Ok(false);
        }
        self.restarts_answered = self.counters().restart_requests;
        if let Some(a) = self.activation {
            self.deactivate();
            self.activate(a.sample_rate, a.min_block, a.max_block)?;
        }
        Ok(true)
    }

    fn activate_once(&mut self, sample_rate: f64, min_block: u32, max_block: u32) -> Result<()> {
        if self.is_active() {
            crate::bail!("{} is already active", self.id);
        }
        let main = |ports: &[AudioPort]| ports.iter().find(|p| p.is_main).or(ports.first()).map_or(0, |p| p.channels as usize);
        let in_ports = self.audio_ports(true)?;
        let out_ports = self.audio_ports(false)?;
        let (in_channels, out_channels) = (main(&in_ports), main(&out_ports));
        if in_ports.len() > 1 || out_ports.len() > 1 {
            crate::bail!("{}: auxiliary audio ports are not supported by this host", self.id);
        }
        let config = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: min_block.max(1),
            max_frames_count: max_block.max(min_block).max(1),
        };
        let stopped = self
            .instance
            .activate(|_, _| AudioThreadState::default(), config)
            .context(|| format!("{}: activate({sample_rate} Hz, {min_block}..{max_block}) failed", self.id))?;
        // From here on, allocate only host buffers sized for the largest block.
        self.io.inputs = vec![vec![0.0; config.max_frames_count as usize]; in_channels];
        self.io.in_ports = AudioPorts::with_capacity(in_channels, 1);
        self.io.out_ports = AudioPorts::with_capacity(out_channels, 1);
        let started = match stopped.start_processing() {
            Ok(s) => s,
            Err(e) => {
                let stopped = e.into_stopped_processor();
                self.instance.deactivate(stopped);
                crate::bail!("{}: start_processing failed", self.id);
            }
        };
        self.processor = Some(started);
        self.activation = Some(Activation {
            sample_rate,
            min_block: config.min_frames_count,
            max_block: config.max_frames_count,
            in_channels,
            out_channels,
        });
        self.steady_time = 0;
        self.pump_main_thread();
        Ok(())
    }

    pub fn deactivate(&mut self) {
        if let Some(p) = self.processor.take() {
            let stopped = p.stop_processing();
            self.instance.deactivate(stopped);
        }
        self.activation = None;
        self.pending_params.clear();
        self.pump_main_thread();
    }

    /// Stops and restarts processing and calls the plugin's reset, as a host does on transport
    /// jumps: the next block is not continuous with the last.
    pub fn reset(&mut self) -> Result<()> {
        let p = self.processor.take().context(|| format!("{} is not active", self.id))?;
        let mut stopped = p.stop_processing();
        stopped.reset();
        match stopped.start_processing() {
            Ok(s) => self.processor = Some(s),
            Err(e) => {
                let stopped = e.into_stopped_processor();
                self.instance.deactivate(stopped);
                self.activation = None;
                crate::bail!("{}: start_processing after reset failed", self.id);
            }
        }
        self.steady_time = 0;
        Ok(())
    }

    // --- processing ---------------------------------------------------------------------------

    /// Processes one block. `inputs[c]` and `outputs[c]` all have the block's length (inputs may
    /// be empty for instruments). Event times are offsets within this block, in order.
    pub fn process(&mut self, inputs: &[&[f32]], outputs: &mut [&mut [f32]], events: &[TimedEvent]) -> Result<ProcessStatus> {
        let a = self.activation.context(|| format!("{} is not active", self.id))?;
        let frames = outputs.first().map(|o| o.len()).or(inputs.first().map(|i| i.len())).unwrap_or(0);
        if frames == 0 {
            crate::bail!("empty block");
        }
        if frames > a.max_block as usize {
            crate::bail!("block of {frames} frames exceeds the activated maximum {}", a.max_block);
        }
        if outputs.len() != a.out_channels || outputs.iter().any(|o| o.len() != frames) {
            crate::bail!("{}: expected {} output channels of {frames} frames", self.id, a.out_channels);
        }
        if a.in_channels > 0 && (inputs.len() != a.in_channels || inputs.iter().any(|i| i.len() != frames)) {
            crate::bail!("{}: expected {} input channels of {frames} frames", self.id, a.in_channels);
        }

        self.io.events.clear();
        for (id, value) in self.pending_params.drain(..) {
            let ev = ParamValueEvent::new(0, ClapId::new(id), Pckn::match_all(), value);
            self.io.events.push(&ev);
        }
        for e in events {
            if e.time >= frames as u64 {
                crate::bail!("event at {} outside a block of {frames} frames", e.time);
            }
            let t = e.time as u32;
            let pckn = |key: u8| Pckn::new(0u16, e.channel as u16, key as u16, Match::All);
            match e.kind {
                EventKind::NoteOn { key, velocity } => self.io.events.push(&NoteOnEvent::new(t, pckn(key), velocity)),
                EventKind::NoteOff { key, velocity } => self.io.events.push(&NoteOffEvent::new(t, pckn(key), velocity)),
                EventKind::Param { id, value } => {
                    self.io.events.push(&ParamValueEvent::new(t, ClapId::new(id), Pckn::match_all(), value))
                }
            }
        }
        // Events must reach the plugin in time order; a stable sort keeps same-time order.
        self.io.events.sort();

        for (buf, src) in self.io.inputs.iter_mut().zip(inputs) {
            buf[..frames].copy_from_slice(src);
        }
        if self.poison_outputs {
            for o in outputs.iter_mut() {
                o.fill(f32::NAN);
            }
        }
        self.io.out_events.clear();

        let processor = self.processor.as_mut().context(|| "not processing".to_owned())?;
        let in_audio = if a.in_channels > 0 {
            self.io.in_ports.with_input_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(
                    self.io.inputs.iter_mut().map(|b| InputChannel::variable(&mut b[..frames])),
                ),
            }])
        } else {
            InputAudioBuffers::empty()
        };
        let mut out_audio = self.io.out_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(outputs.iter_mut().map(|b| &mut **b)),
        }]);
        let status = processor
            .process(
                &in_audio,
                &mut out_audio,
                &self.io.events.as_input(),
                &mut self.io.out_events.as_output(),
                Some(self.steady_time),
                None,
            )
            .context(|| format!("{}: process failed", self.id))?;
        self.steady_time += frames as u64;
        self.pump_main_thread();
        Ok(status)
    }

    /// Runs a whole signal through the plugin: planar `input` (effects) or `frames` frames of
    /// output driven by `events` (instruments; absolute sample times), cut into blocks by
    /// `schedule`. Returns planar output of `frames` frames.
    pub fn render(
        &mut self,
        input: Option<&[Vec<f32>]>,
        frames: usize,
        events: &[TimedEvent],
        schedule: &Schedule,
    ) -> Result<Vec<Vec<f32>>> {
        let a = self.activation.context(|| format!("{} is not active", self.id))?;
        if schedule.max_block() > a.max_block as usize {
            crate::bail!("schedule has blocks up to {} but the plugin was activated for {}", schedule.max_block(), a.max_block);
        }
        if let Some(inp) = input {
            if a.in_channels == 0 {
                crate::bail!("{} has no audio input", self.id);
            }
            if inp.len() != a.in_channels || inp.iter().any(|c| c.len() < frames) {
                crate::bail!("input must have {} channels of at least {frames} frames", a.in_channels);
            }
        }
        let silence;
        let input: Vec<&[f32]> = match input {
            Some(inp) => inp.iter().map(|c| &c[..frames]).collect(),
            None => {
                silence = vec![0.0f32; if a.in_channels > 0 { frames } else { 0 }];
                (0..a.in_channels).map(|_| &silence[..]).collect()
            }
        };
        let mut sorted: Vec<TimedEvent> = events.to_vec();
        sorted.sort_by_key(|e| e.time);
        let mut out = vec![vec![0.0f32; frames]; a.out_channels];
        let mut block_events = Vec::new();
        let mut next_event = 0;
        let mut start = 0;
        for size in schedule.sizes() {
            if start >= frames {
                break;
            }
            let end = (start + size).min(frames);
            block_events.clear();
            while next_event < sorted.len() && (sorted[next_event].time as usize) < end {
                let mut e = sorted[next_event];
                e.time = (e.time as usize).saturating_sub(start) as u64;
                block_events.push(e);
                next_event += 1;
            }
            let ins: Vec<&[f32]> = input.iter().map(|c| &c[start..end]).collect();
            let mut outs: Vec<&mut [f32]> = out.iter_mut().map(|c| &mut c[start..end]).collect();
            self.process(&ins, &mut outs, &block_events)?;
            start = end;
        }
        Ok(out)
    }
}
