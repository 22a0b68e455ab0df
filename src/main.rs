use clap::Parser;
use skiplane::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    // Piped into `head`, a command-line tool should stop quietly, not panic on a closed stdout.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if cli.command.is_none() {
        // No command: the desktop window, with its log file and crash dialog.
        return skiplane::app::launch();
    }
    skiplane::logging::init_cli_logging();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
