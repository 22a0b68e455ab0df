//! One module per panel; each exports one `*_panel_ui` function.

pub mod about;
pub mod architecture;
pub mod compare;
pub mod data;
pub mod evaluate;
pub mod export;
pub mod lab;
pub mod label;
pub mod predict;
pub mod train;
pub mod welcome;
pub mod widgets;
