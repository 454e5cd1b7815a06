-- Records a take through a VoiRS VST3 in a fresh Ardour session (headless, dummy backend) and saves
-- two snapshots that differ only in the plugin's "Output Gain": "unity" (0 dB) and "gain" (GAIN_DB).
-- ardour7-export then renders each snapshot; check.py compares the renders with the take.
--
-- Environment:
--   SESSION_DIR  new session directory (must not exist)
--   PLUGIN_NAME  VST3 plugin name, e.g. "VoiRS Voice Converter"
--   KIND         "effect": audio track, dummy generator input recorded through the plugin
--                "instrument": MIDI track with the plugin as instrument; notes are played from
--                Ardour's virtual-keyboard port while recording, so the take is a MIDI region
--   INPUTS       effect track input channels (1 or 2, default 2)
--   DEVICE       dummy input generator (default "Sine Wave 1K, 1/3 Oct": a steady sine per
--                channel, 396.85 Hz left, 500 Hz right)
--   GAIN_DB      Output Gain of the "gain" snapshot in dB (default -6)
--   NOTE         MIDI key for instruments (default 57 = A3, 220 Hz)
-- Prints "RESULT key=value" lines (one key per line) that run.sh collects.

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local session_dir = assert(os.getenv("SESSION_DIR"), "SESSION_DIR not set")
local plugin_name = assert(os.getenv("PLUGIN_NAME"), "PLUGIN_NAME not set")
local kind = env("KIND", "effect")
local inputs = tonumber(env("INPUTS", "2"))
local gain_db = tonumber(env("GAIN_DB", "-6"))
local note = tonumber(env("NOTE", "57"))

local backend = AudioEngine:set_backend("None (Dummy)", "", "")
assert(backend, "no dummy backend")
backend:set_device_name(kind == "effect" and env("DEVICE", "Sine Wave 1K, 1/3 Oct") or "Silence")
assert(create_session(session_dir, "sess", 48000), "could not create the session")

-- The track, with the plugin as its first processor.
local track, proc
if kind == "effect" then
  local tl = Session:new_audio_track(inputs, 2, nil, 1, "Take", -1, ARDOUR.TrackMode.Normal, true)
  track = tl:front()
  proc = ARDOUR.LuaAPI.new_plugin(Session, plugin_name, ARDOUR.PluginType.VST3, "")
  assert(not proc:isnil(), "VST3 plugin not found: " .. plugin_name)
  assert(track:add_processor_by_index(proc, 0, nil, true) == 0, "could not insert the plugin")
else
  local info = ARDOUR.LuaAPI.new_plugin_info(plugin_name, ARDOUR.PluginType.VST3)
  assert(not info:isnil(), "VST3 instrument not found: " .. plugin_name)
  local tl = Session:new_midi_track(ARDOUR.ChanCount(ARDOUR.DataType("midi"), 1),
    ARDOUR.ChanCount(ARDOUR.DataType("audio"), 2), true, info, nil, nil, 1, "Take", -1,
    ARDOUR.TrackMode.Normal, true, false)
  track = tl:front()
  proc = track:nth_plugin(0)
  assert(not proc:isnil(), "the instrument was not instantiated on the MIDI track")
end
local insert = proc:to_insert()
local plug = insert:plugin(0)
print("RESULT plugin=" .. plug:name())
print("RESULT track_inputs=" .. track:n_inputs():n_audio())
print("RESULT track_midi_inputs=" .. track:n_inputs():n_midi())
print("RESULT track_outputs=" .. track:n_outputs():n_audio())

-- Find "Output Gain" and learn how this host addresses it: Ardour passes VST3 values in the
-- plugin's plain domain (normalizedParamToPlain), so read the range from the descriptor.
local gain_index, lower, upper
for i = 0, plug:parameter_count() - 1 do
  local _, t = plug:get_parameter_descriptor(i, ARDOUR.ParameterDescriptor())
  local desc = t[2]
  local label = plug:parameter_label(i)
  print(string.format("param %d %q lower=%g upper=%g value=%g", i, label, desc.lower, desc.upper,
    ARDOUR.LuaAPI.get_processor_param(proc, i, true)))
  if label == "Output Gain" then gain_index, lower, upper = i, desc.lower, desc.upper end
end
assert(gain_index, "no \"Output Gain\" parameter")

-- The plugin's range: -36..+12 dB as linear gain, skewed so that normalised 0.5 is -12 dB.
local function db_to_gain(d) return 10 ^ (d / 20) end
local gmin, gmax, gmid = db_to_gain(-36), db_to_gain(12), db_to_gain(-12)
local skew = math.log(0.5) / math.log((gmid - gmin) / (gmax - gmin))
local function host_value(d)
  local g = db_to_gain(d)
  if math.abs(lower - gmin) < 1e-4 and math.abs(upper - gmax) < 1e-3 then
    return g                                          -- plain: linear gain
  end
  assert(math.abs(lower) < 1e-6 and math.abs(upper - 1) < 1e-6,
    string.format("unexpected Output Gain range %g..%g", lower, upper))
  return ((g - gmin) / (gmax - gmin)) ^ skew         -- normalised
end
print(string.format("RESULT gain_param_index=%d", gain_index))
print(string.format("RESULT gain_param_lower=%g", lower))
print(string.format("RESULT gain_param_upper=%g", upper))

local function set_gain(d)
  local v = host_value(d)
  assert(ARDOUR.LuaAPI.set_processor_param(proc, gain_index, v), "set_processor_param failed")
  -- The VST3 receives the change with its next process() call; let the (stopped) engine run a
  -- few cycles so the plugin's own state, which the snapshot stores, holds the new value.
  sleep(0.5)
  local back = ARDOUR.LuaAPI.get_processor_param(proc, gain_index, true)
  assert(math.abs(back - v) < 1e-4, string.format("Output Gain reads back %g, set %g", back, v))
  return v
end
set_gain(0)

-- The virtual keyboard (an Ardour MIDI output port) feeds the MIDI track while it records.
local keyboard
if kind == "instrument" then
  local _, ports = Session:engine():get_ports(ARDOUR.DataType("midi"), ARDOUR.PortList())
  for p in ports[2]:iter() do
    if p:name() == "x-virtual-keyboard" then keyboard = p:to_asyncmidiport() end
  end
  assert(keyboard and not keyboard:isnil(), "no virtual keyboard port")
  assert(track:input():connect(track:input():nth(0), keyboard:name(), nil) == 0, "could not connect the keyboard")
end
local function midi(bytes)
  local parser = ARDOUR.RawMidiParser()
  for _, b in ipairs(bytes) do
    if parser:process_byte(b) then
      assert(keyboard:write(parser:midi_buffer(), parser:buffer_size(), 0) == parser:buffer_size(), "MIDI write failed")
    end
  end
end

-- Record.
track:rec_enable_control():set_value(1, PBD.GroupControlDisposition.NoGroup)
Session:maybe_enable_record(false)
Session:request_roll(ARDOUR.TransportRequestSource.TRS_UI)
if kind == "effect" then
  sleep(2.0)
else
  sleep(0.5)
  midi({0x90, note, 100})
  sleep(1.5)
  midi({0x80, note, 0})
  sleep(1.0)
end
Session:request_stop(false, false, ARDOUR.TransportRequestSource.TRS_UI)
sleep(1.0)
Session:disable_record(false, false)

local regions = track:playlist():region_list()
print("RESULT regions=" .. regions:size())
assert(regions:size() == 1, "expected one recorded region")
for r in regions:iter() do
  print(string.format("RESULT region_start=%d", r:position():samples()))
  print(string.format("RESULT region_length=%d", r:length():samples()))
end
-- The plugin's reported latency as the host sees it.
local latency
for _, get in ipairs({
  function() return insert:effective_latency() end,
  function() return proc:signal_latency() end,
  function() return plug:signal_latency() end,
}) do
  local ok, v = pcall(get)
  if ok and v ~= nil then latency = v; break end
end
assert(latency, "could not read the plugin latency")
print("RESULT latency_samples=" .. latency)

Session:save_state("", false, false, false, false, false)
print(string.format("RESULT unity_value=%.7f", set_gain(0)))
Session:save_state("unity", false, false, false, false, false)
print(string.format("RESULT gain_value=%.7f", set_gain(gain_db)))
print(string.format("RESULT gain_db=%g", gain_db))
Session:save_state("gain", false, false, false, false, false)
print("RESULT saved=1")
