//! One piece of slow work on a named thread, whose result the UI picks up when it is ready.

use std::sync::mpsc::{Receiver, TryRecvError, channel};

pub struct Job<T> {
    receiver: Receiver<T>,
    done: bool,
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a thread named `name`; the window repaints when it is done.
    pub fn spawn(
        name: &str,
        ctx: &egui::Context,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Self {
        let (sender, receiver) = channel();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let _ = sender.send(work());
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            log::error!("cannot start the {name} thread: {e}");
        }
        Job {
            receiver,
            done: false,
        }
    }

    /// The result, once (None while it runs, and after it was taken).
    pub fn poll(&mut self) -> Option<T> {
        if self.done {
            return None;
        }
        match self.receiver.try_recv() {
            Ok(value) => {
                self.done = true;
                Some(value)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.done = true;
                None
            }
        }
    }
}
