//! `sluice`: validate component files, list the step catalog, run dataflows.
//!
//! Exit codes: 0 success, 1 the component, its dataflow or its input is wrong,
//! 2 usage or environment (bad flags, unreadable files).

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Sluice runs low-code dataflows described in component files.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check component files and report every problem with its place.
    ///
    /// Each problem is printed as FILE:LINE:COL: /json/pointer: message.
    /// Exits 0 when every file is valid, 1 when any is not.
    Validate {
        /// Component files to check.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// List the step types with their settings, labelled in one language.
    Steps {
        /// Language of titles and labels.
        #[arg(long, value_enum, default_value_t = LangArg::En)]
        lang: LangArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run one dataflow of a component and print its response.
    ///
    /// Exits 1, naming the failing step, when the run fails.
    Run {
        /// The component file.
        file: std::path::PathBuf,
        /// Name of the dataflow to run.
        #[arg(long, short)]
        dataflow: String,
        /// The action model as JSON, such as '{"data":{"UserName":"ann"}}' (default: {"data":{}}).
        #[arg(long, conflicts_with = "input_file")]
        input: Option<String>,
        /// Read the action model from a JSON file ("-" for standard input).
        #[arg(long)]
        input_file: Option<std::path::PathBuf>,
        /// The calling user (name or id).
        #[arg(long)]
        user: Option<String>,
        /// The client or application making the request.
        #[arg(long)]
        client: Option<String>,
        /// Include every step's emitted items, duration and status.
        #[arg(long)]
        trace: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write the JSON Schemas of component files and step settings into a folder.
    Schemas {
        /// The folder (created when missing); `schemas/` in the repository.
        #[arg(long, default_value = "schemas")]
        out: std::path::PathBuf,
    },
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Lines for people.
    Text,
    /// One JSON document for programs.
    Json,
}

/// A language of the catalog.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum LangArg {
    En,
    Fr,
    Es,
    Pt,
    De,
}

impl From<LangArg> for sluice::Lang {
    fn from(lang: LangArg) -> Self {
        match lang {
            LangArg::En => sluice::Lang::En,
            LangArg::Fr => sluice::Lang::Fr,
            LangArg::Es => sluice::Lang::Es,
            LangArg::Pt => sluice::Lang::Pt,
            LangArg::De => sluice::Lang::De,
        }
    }
}

/// What a command ends with.
enum Failure {
    /// The component, dataflow or input is wrong (exit 1); details were printed.
    Invalid,
    /// Usage or environment (exit 2), with the message to print.
    Environment(String),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { files, format } => commands::validate(&files, format),
        Command::Steps { lang, format } => commands::steps(lang.into(), format),
        Command::Run { file, dataflow, input, input_file, user, client, trace, format } => {
            let input = commands::RunInput { inline: input, file: input_file };
            commands::run(&file, &dataflow, input, sluice::RunContext { user, client }, trace, format)
        }
        Command::Schemas { out } => commands::schemas(&out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid) => ExitCode::from(1),
        Err(Failure::Environment(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
