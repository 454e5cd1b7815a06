//! The look shared by all VoiRS editors: theme, header (name, latency, bypass), level meters.

use crate::Status;
use egui::{Color32, CornerRadius, RichText, Sense, Stroke, Vec2};
use nice_plug::prelude::BoolParam;
use nice_plug::context::gui::ParamSetter;
use std::sync::atomic::Ordering;

pub const ACCENT: Color32 = Color32::from_rgb(0x4f, 0xc3, 0xa1);
pub const WARN: Color32 = Color32::from_rgb(0xe8, 0xa3, 0x3d);
const BACKGROUND: Color32 = Color32::from_rgb(0x16, 0x19, 0x1d);
const PANEL: Color32 = Color32::from_rgb(0x22, 0x27, 0x2e);

/// Applies the VoiRS dark theme to an editor's context (call from `NiceEguiApp::build`).
pub fn apply_theme(ctx: &egui::Context) {
    let mut v = egui::Visuals::dark();
    v.panel_fill = BACKGROUND;
    v.window_fill = PANEL;
    v.extreme_bg_color = Color32::from_rgb(0x0e, 0x10, 0x13);
    v.selection.bg_fill = ACCENT.linear_multiply(0.6);
    v.widgets.active.bg_fill = ACCENT;
    v.widgets.hovered.bg_stroke = Stroke::new(1.0, ACCENT);
    ctx.set_visuals(v);
    // Meters move: repaint at display-ish rate while open.
    ctx.request_repaint_after(std::time::Duration::from_millis(33));
}

/// The strip at the top of every editor: plugin name, what it is, bypass. Also paints the
/// editor background, so call it first.
pub fn header(ui: &mut egui::Ui, name: &str, tagline: &str, bypass: &BoolParam, setter: &ParamSetter) {
    ui.painter().rect_filled(ui.ctx().content_rect(), CornerRadius::ZERO, BACKGROUND);
    ui.horizontal(|ui| {
        ui.label(RichText::new(name).heading().color(ACCENT).strong());
        ui.weak(tagline);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let mut bypassed = bypass.value();
            if ui.toggle_value(&mut bypassed, "Bypass").changed() {
                setter.begin_set_parameter(bypass);
                setter.set_parameter(bypass, bypassed);
                setter.end_set_parameter(bypass);
            }
        });
    });
    ui.separator();
}

/// A horizontal peak meter from −60 to +6 dBFS, with the level printed beside it.
pub fn level_meter(ui: &mut egui::Ui, label: &str, level_db: f32) {
    ui.horizontal(|ui| {
        ui.add_sized([28.0, 14.0], egui::Label::new(RichText::new(label).small()));
        let (rect, _) = ui.allocate_exact_size(Vec2::new(ui.available_width() - 90.0, 10.0), Sense::hover());
        let painter = ui.painter();
        painter.rect_filled(rect, CornerRadius::same(2), Color32::from_gray(30));
        let frac = ((level_db + 60.0) / 66.0).clamp(0.0, 1.0);
        let mut fill = rect;
        fill.set_width(rect.width() * frac);
        let color = if level_db > 0.0 { Color32::from_rgb(0xe0, 0x4f, 0x4f) } else if level_db > -6.0 { WARN } else { ACCENT };
        painter.rect_filled(fill, CornerRadius::same(2), color);
        let text = if level_db <= -119.0 { "-inf".to_owned() } else { format!("{level_db:+.1}") };
        ui.monospace(format!("{text:>6} dB"));
    });
}

/// Input and output meters, the non-finite counter and the reported latency, at the foot of an
/// editor.
pub fn meters(ui: &mut egui::Ui, status: &Status, has_input: bool) {
    ui.separator();
    if has_input {
        level_meter(ui, "in", status.input.level_db());
    }
    level_meter(ui, "out", status.output.level_db());
    let bad = status.nonfinite_replaced.load(Ordering::Relaxed);
    if bad > 0 {
        ui.colored_label(WARN, format!("{bad} non-finite input samples replaced by silence"));
    }
    ui.weak(format!(
        "latency {} samples ({:.1} ms) at {:.0} Hz, reported to the host",
        status.latency_samples.load(Ordering::Relaxed),
        status.latency_ms(),
        status.sample_rate.load(Ordering::Relaxed)
    ));
}
