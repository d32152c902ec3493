use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = switchback::cli::Args::parse();
    switchback::cli::init_tracing();
    match switchback::cli::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = e.exit_code();
            let hint = e.hint();
            let e: Box<dyn std::error::Error> = Box::new(e);
            eprintln!("switchback: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            if let Some(hint) = hint {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(code)
        }
    }
}
