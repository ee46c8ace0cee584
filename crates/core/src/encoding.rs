//! Text encodings of CSV extracts, as configured.

/// The encoding of a CSV extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum TextEncoding {
    /// Detect: UTF-8 when the first block is valid UTF-8 (or starts with a BOM), else
    /// Windows-1258.
    #[default]
    Auto,
    /// UTF-8, with or without BOM.
    Utf8,
    /// Windows-1258 (Vietnamese).
    Windows1258,
}

impl TextEncoding {
    /// Parses the configuration value (`auto`, `utf-8`, `windows-1258`).
    pub fn from_config(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "utf-8" | "utf8" => Some(Self::Utf8),
            "windows-1258" | "cp1258" => Some(Self::Windows1258),
            _ => None,
        }
    }

    /// The configuration value.
    pub fn config_name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Utf8 => "utf-8",
            Self::Windows1258 => "windows-1258",
        }
    }

    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Utf8 => "UTF-8",
            Self::Windows1258 => "Windows-1258",
        }
    }
}

impl std::str::FromStr for TextEncoding {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        Self::from_config(value)
            .ok_or_else(|| format!("unknown encoding {value:?}: use auto, utf-8 or windows-1258"))
    }
}

impl TryFrom<String> for TextEncoding {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        value.parse()
    }
}
