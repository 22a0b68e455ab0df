//! One piece of slow work on a named thread, whose result the UI picks up when it is ready.

use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// What a job yields when its work panicked.
pub trait FromPanic {
    fn from_panic(message: String) -> Self;
}

impl<T> FromPanic for Result<T, String> {
    fn from_panic(message: String) -> Self {
        let log = crate::logging::log_path()
            .map(|p| format!("; details in {}", p.display()))
            .unwrap_or_default();
        Err(format!("crashed (a bug in Skiplane): {message}{log}"))
    }
}

/// Adapter discovery that panics (a broken GPU driver) leaves the app on the CPU.
impl FromPanic for crate::backend::SelectedDevice {
    fn from_panic(message: String) -> Self {
        crate::backend::cpu_device(format!("GPU detection failed: {message}"))
    }
}

pub struct Job<T> {
    receiver: Receiver<T>,
    done: bool,
}

impl<T: FromPanic + Send + 'static> Job<T> {
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
                // A panic (a bug, or a driver's) becomes the job's failure, not a job that never
                // ends; the panic hook has logged it with its backtrace.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                    .unwrap_or_else(|panic| {
                        T::from_panic(crate::logging::panic_message(panic.as_ref()))
                    });
                let _ = sender.send(outcome);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn wait<T: FromPanic + Send + 'static>(mut job: Job<T>) -> T {
        for _ in 0..500 {
            if let Some(value) = job.poll() {
                return value;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the job never reported");
    }

    #[test]
    fn a_panicking_job_reports_a_failure_instead_of_running_forever() {
        let ctx = egui::Context::default();
        let failed: Result<u32, String> =
            wait(Job::spawn("test-job", &ctx, || panic!("driver exploded")));
        let message = failed.unwrap_err();
        assert!(message.contains("driver exploded"), "{message}");
        // Backend detection that panics (a broken GPU driver) ends on the CPU, saying why.
        let device = wait(Job::spawn(
            "test-backend",
            &ctx,
            || -> crate::backend::SelectedDevice { panic!("vkCreateInstance crashed") },
        ));
        assert_eq!(device.kind, crate::backend::BackendKind::Cpu);
        assert!(
            device.reason.contains("vkCreateInstance crashed"),
            "{}",
            device.reason
        );
    }
}
