//! SVG charts, rendered to a `String` (so tests can look at them) and written atomically
//! by the caller. One file per chart.

mod heatmap;
mod overlay;
mod spectrum;
mod timeline;

pub use heatmap::heatmap_svg;
pub use overlay::{spectrum_overlay_svg, timeline_overlay_svg};
pub use spectrum::spectrum_svg;
pub use timeline::timeline_svg;
