//! SVG charts, rendered to a `String` (so tests can look at them) and written atomically
//! by the caller. One file per chart.

mod capacity;
mod connections;
mod errors;
mod heatmap;
mod lines;
mod overlay;
mod palette;
mod pool;
mod spectrum;
mod spectrum_ops;
mod style;
mod timeline;
mod timeline_ops;

pub use capacity::capacity_svg;
pub use connections::connections_svg;
pub use errors::errors_svg;
pub use heatmap::heatmap_svg;
pub use overlay::{spectrum_overlay_svg, timeline_overlay_svg};
pub use pool::pool_svg;
pub use spectrum::{SpectrumLimit, spectrum_svg};
pub use spectrum_ops::{OpSpectrum, spectrum_ops_svg};
pub use timeline::{Marks, timeline_svg};
pub use timeline_ops::{OpTimeline, timeline_ops_svg};
