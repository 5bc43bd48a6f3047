//! The one palette of every chart: Okabe & Ito's eight colours, chosen to stay distinct
//! for the common colour-vision deficiencies (and in greyscale print, paired with the
//! legend's order and dashes). Each colour has one meaning in every chart, so a reader
//! learns it once: blue the typical figure (p50, achieved rate, active, open), orange the
//! tail (p99), green p90 and spare capacity (idle), vermillion the worst and the failing
//! (max, errors, pending, timeouts), grey dashed a limit or a baseline, black dashed the
//! target.

use plotters::style::RGBColor;

pub(super) const BLUE: RGBColor = RGBColor(0, 114, 178);
pub(super) const ORANGE: RGBColor = RGBColor(230, 159, 0);
pub(super) const GREEN: RGBColor = RGBColor(0, 158, 115);
pub(super) const VERMILLION: RGBColor = RGBColor(213, 94, 0);
pub(super) const SKY: RGBColor = RGBColor(86, 180, 233);
pub(super) const PURPLE: RGBColor = RGBColor(204, 121, 167);
/// Okabe & Ito's yellow, darkened so that a line of it reads on white.
pub(super) const YELLOW: RGBColor = RGBColor(190, 170, 0);
pub(super) const GREY: RGBColor = RGBColor(90, 90, 90);
pub(super) const BLACK: RGBColor = RGBColor(0, 0, 0);
