//! A real DAW and the real editors: Ardour 7 renders each VST3 headlessly
//! (`tests/daw/run.sh`), and each editor opens through the standalone program under Xvfb
//! (`tests/gui/shot.sh`). The scripts measure; these tests run them and assert the measurements.
//!
//! Prerequisites: the release bundles in `target/bundled` (or `$VOIRS_BUNDLE_DIR`), the standalone
//! at `target/release/voirs-standalone` (or `$VOIRS_STANDALONE`), Ardour 7 for the DAW tests and
//! Xvfb, xdotool, ImageMagick and xwininfo for the editor tests, python3 for both. When one is
//! missing a test prints `skipped: ...` and passes, unless `VOIRS_REQUIRE_DAW=1` (CI), where it
//! fails. Outputs (sessions, renders, screenshots, results.txt) go to `target/daw` and `target/gui`.

mod daw_and_gui {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::Mutex;

    /// Ardour sessions and X servers are heavy on two cores, and every DAW test refreshes the
    /// same `~/.vst3` copy: one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    const GAIN_DB: f64 = -6.0;
    /// The dummy backend's "Sine Wave 1K, 1/3 Oct" generator: left and right input frequencies.
    const INPUT_HZ: [f64; 2] = [396.85, 500.0];

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
    }

    fn from_env_or(var: &str, default: PathBuf) -> PathBuf {
        match std::env::var_os(var) {
            Some(v) if !v.is_empty() => {
                let p = PathBuf::from(v);
                if p.is_absolute() { p } else { root().join(p) }
            }
            _ => default,
        }
    }

    fn bundle_dir() -> PathBuf {
        from_env_or("VOIRS_BUNDLE_DIR", root().join("target/bundled"))
    }

    fn standalone() -> PathBuf {
        from_env_or("VOIRS_STANDALONE", root().join("target/release/voirs-standalone"))
    }

    fn on_path(tool: &str) -> bool {
        if tool.contains('/') {
            return Path::new(tool).is_file();
        }
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
    }

    /// `Some(reason)` when a prerequisite is missing. With `VOIRS_REQUIRE_DAW=1` that is a failure.
    fn missing(tools: &[&str], files: &[PathBuf]) -> Option<String> {
        let mut what: Vec<String> = tools.iter().filter(|t| !on_path(t)).map(|t| t.to_string()).collect();
        what.extend(files.iter().filter(|f| !f.exists()).map(|f| f.display().to_string()));
        if what.is_empty() {
            return None;
        }
        let reason = format!("missing {}", what.join(", "));
        if std::env::var("VOIRS_REQUIRE_DAW").is_ok_and(|v| v == "1") {
            panic!("VOIRS_REQUIRE_DAW=1 and {reason}");
        }
        Some(reason)
    }

    /// Runs a script; panics with its output unless it succeeded. Returns its output.
    fn run_script(script: &str, args: &[&str]) -> String {
        let out = Command::new("bash")
            .arg(root().join(script))
            .args(args)
            .current_dir(root())
            .output()
            .unwrap_or_else(|e| panic!("could not start {script}: {e}"));
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        println!("{text}");
        assert!(out.status.success(), "{script} {args:?} failed ({}):\n{text}", out.status);
        text
    }

    /// `name.key=value` lines written by the scripts.
    struct Results {
        name: String,
        map: HashMap<String, String>,
    }

    impl Results {
        fn load(path: &Path, name: &str) -> Self {
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let prefix = format!("{name}.");
            let map = text
                .lines()
                .filter_map(|l| l.strip_prefix(&prefix))
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            Self { name: name.to_owned(), map }
        }

        fn str(&self, key: &str) -> &str {
            self.map.get(key).unwrap_or_else(|| panic!("{}: no measurement {key:?} in results", self.name))
        }

        fn num(&self, key: &str) -> f64 {
            self.str(key).parse().unwrap_or_else(|e| panic!("{}.{key} = {:?}: {e}", self.name, self.str(key)))
        }
    }

    // ---------------------------------------------------------------------------------------
    // Ardour

    const DAW_TOOLS: &[&str] = &["ardour7-lua", "ardour7-export", "/usr/lib/ardour7/ardour-vst3-scanner", "python3"];

    /// Renders `name` through Ardour; `None` when skipped.
    fn ardour(name: &str, package: &str) -> Option<Results> {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let bundle = bundle_dir().join(format!("{package}.vst3"));
        if let Some(reason) = missing(DAW_TOOLS, &[bundle]) {
            println!("skipped: Ardour render of {package}: {reason}");
            return None;
        }
        let bundles = bundle_dir();
        let out = root().join("target/daw");
        run_script("tests/daw/run.sh", &["--bundles", bundles.to_str().unwrap(), "--out", out.to_str().unwrap(), name]);
        let r = Results::load(&out.join(name).join("results.txt"), name);
        assert_eq!(r.str("status"), "ok");
        assert_eq!(r.num("checks_failed"), 0.0, "{name}: a check in tests/daw/check.py failed");
        Some(r)
    }

    /// An effect that passes audio through (today's converter and spatializer): the render equals
    /// the recorded input, time-aligned by the host's latency compensation, scaled by Output Gain.
    fn assert_transparent_effect(r: &Results, inputs: usize, latency: f64) {
        assert_eq!(r.num("latency_samples"), latency, "reported latency seen by Ardour");
        assert_eq!(r.num("track_inputs"), inputs as f64);
        assert!(r.num("frames") >= 48_000.0, "at least 1 s rendered");
        for ch in 0..2 {
            let k = |key: &str| format!("ch{ch}.{key}");
            let input_hz = r.num(&k("input_hz"));
            let expected_hz = INPUT_HZ[ch.min(inputs - 1)];
            assert!((input_hz - expected_hz).abs() < 0.5, "ch{ch}: input sine {input_hz} Hz, generator gives {expected_hz} Hz");
            assert!((r.num(&k("output_hz")) - input_hz).abs() <= 0.5, "ch{ch}: output frequency");
            assert_eq!(r.num(&k("lag_samples")), 0.0, "ch{ch}: output aligned with the input");
            assert!(r.num(&k("input_dbfs")) > -60.0, "ch{ch}: the input is a real signal");
            let unity = r.num(&k("unity_dbfs")) - r.num(&k("input_dbfs"));
            assert!(unity.abs() <= 0.1, "ch{ch}: at 0 dB the output is {unity:+.3} dB from the input");
            let gain = r.num(&k("gain_delta_db"));
            assert!((gain - GAIN_DB).abs() <= 0.1, "ch{ch}: at {GAIN_DB} dB the output is {gain:+.3} dB from the input");
            let rel = r.num(&k("gain_vs_unity_db"));
            assert!((rel - GAIN_DB).abs() <= 0.1, "ch{ch}: the {GAIN_DB} dB render is {rel:+.3} dB from the 0 dB render");
            let corr = r.num(&k("correlation"));
            assert!(corr > 0.99, "ch{ch}: correlation with the input {corr}");
        }
    }

    #[test]
    fn ardour_renders_converter() {
        if let Some(r) = ardour("converter", "voirs-converter") {
            assert_transparent_effect(&r, 2, 480.0);
        }
    }

    #[test]
    fn ardour_renders_spatializer_stereo() {
        if let Some(r) = ardour("spatializer", "voirs-spatializer") {
            assert_transparent_effect(&r, 2, 0.0);
        }
    }

    #[test]
    fn ardour_renders_spatializer_mono_to_binaural() {
        if let Some(r) = ardour("spatializer-mono", "voirs-spatializer") {
            assert_eq!(r.num("track_outputs"), 2.0);
            assert_transparent_effect(&r, 1, 0.0);
        }
    }

    /// The Singer plays a MIDI take Ardour recorded from its virtual keyboard: silence before the
    /// note, a periodic voice at the note's pitch during it, Output Gain applied, silence after.
    #[test]
    fn ardour_renders_singer_from_a_midi_take() {
        let Some(r) = ardour("singer", "voirs-singer") else { return };
        assert_eq!(r.num("track_midi_inputs"), 1.0);
        assert!(r.num("notes") >= 1.0, "the take holds the note");
        assert_eq!(r.num("note_key"), 57.0);
        for ch in 0..2 {
            let k = |key: &str| format!("ch{ch}.{key}");
            assert!(r.num(&k("pre_note_peak_dbfs")) < -80.0, "ch{ch}: silent before the note");
            let level = r.num(&k("note_unity_dbfs"));
            assert!(level > -40.0 && level < 0.0, "ch{ch}: note level {level} dBFS");
            let gain = r.num(&k("gain_delta_db"));
            assert!((gain - GAIN_DB).abs() <= 0.1, "ch{ch}: Output Gain {GAIN_DB} dB changed the note by {gain:+.3} dB");
            let cents = r.num(&k("f0_cents"));
            assert!(cents.abs() < 10.0, "ch{ch}: fundamental {} Hz is {cents:+.1} cents from A3", r.num(&k("f0_hz")));
            assert!(r.num(&k("periodicity")) > 0.5, "ch{ch}: periodic voice");
            let onset = r.num(&k("onset_ms"));
            assert!((-1.0..=30.0).contains(&onset), "ch{ch}: the voice starts {onset:+.1} ms from the note-on");
            assert!(r.num(&k("tail_rel_db")) < -40.0, "ch{ch}: silent again after the release");
        }
    }

    /// The Speech Track in a saved session whose plugin state names a clip (as choosing it in the
    /// editor would store it): reopened and exported, each note plays the clip from its start,
    /// sample-aligned with the note-on, scaled by velocity and Output Gain.
    #[test]
    fn ardour_renders_speech_track_clip_from_saved_session() {
        let Some(r) = ardour("speech-track", "voirs-speech-track") else { return };
        assert!(r.num("notes") >= 1.0, "the take holds the note");
        for ch in 0..2 {
            let k = |key: &str| format!("ch{ch}.{key}");
            assert!(r.num(&k("pre_note_peak_dbfs")) < -80.0, "ch{ch}: silent before the note");
            assert!(r.num(&k("note_dbfs")) > -60.0, "ch{ch}: the clip plays on the note");
            assert!(r.num(&k("clip_start_vs_note_on_samples")).abs() <= 1.0, "ch{ch}: clip starts at the note-on");
            assert!(r.num(&k("correlation")) > 0.999, "ch{ch}: the output is the clip");
            assert!(r.num(&k("residual_db")) < -60.0, "ch{ch}: output = clip x velocity/127");
            let gain = r.num(&k("gain_delta_db"));
            assert!((gain - GAIN_DB).abs() <= 0.1, "ch{ch}: Output Gain {GAIN_DB} dB gave {gain:+.3} dB");
            assert!(r.num(&k("after_clip_peak_dbfs")) < -80.0, "ch{ch}: silent after the clip");
        }
    }

    // ---------------------------------------------------------------------------------------
    // Editors

    const GUI_TOOLS: &[&str] = &["Xvfb", "xdotool", "import", "convert", "xwininfo", "python3"];

    fn editor(plugin: &str) {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let bin = standalone();
        if let Some(reason) = missing(GUI_TOOLS, std::slice::from_ref(&bin)) {
            println!("skipped: {plugin} editor screenshots: {reason}");
            return;
        }
        let out = root().join("target/gui");
        run_script("tests/gui/shot.sh", &[bin.to_str().unwrap(), "--out", out.to_str().unwrap(), plugin]);
        let r = Results::load(&out.join(plugin).join("results.txt"), plugin);
        assert_eq!(r.str("status"), "ok");
        assert_eq!(r.num("standalone_alive"), 1.0, "the standalone kept running");
        assert!(r.num("width") >= 200.0 && r.num("height") >= 100.0);
        assert!(r.num("colours") >= 64.0, "the editor is drawn: {} colours", r.num("colours"));
        assert!(r.num("background_fraction") <= 0.97, "more than a blank background");
        assert!(r.num("title_max_runs_per_row") >= 6.0, "the title is glyphs, not a box");
        assert!(r.num("title_accent_shades") >= 12.0, "anti-aliased title text");
        assert!(r.num("text_rows") >= 20.0, "labels and values are drawn");
        assert!(r.num("bypass.changed_inside") >= 150.0, "clicking Bypass redrew the toggle");
        assert!(r.num("bypass.changed_inside") >= r.num("bypass.changed_outside"));
        assert!(r.num("slider.changed_inside") >= 150.0, "dragging Output Gain redrew the slider and its value");
        assert!(r.num("slider.changed_inside") >= r.num("slider.changed_outside"));
    }

    #[test]
    fn editor_converter() {
        editor("converter");
    }

    #[test]
    fn editor_singer() {
        editor("singer");
    }

    #[test]
    fn editor_spatializer() {
        editor("spatializer");
    }

    #[test]
    fn editor_speech_track() {
        editor("speech-track");
    }
}
