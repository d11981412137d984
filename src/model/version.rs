//! The Kubernetes release whose behaviour the simulation reproduces.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The upstream release whose behaviour the cluster reproduces (the V rules of `docs/rules.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum KubernetesVersion {
    /// 1.30.
    V1_30,
    /// 1.31.
    V1_31,
    /// 1.32: E5 (V2).
    V1_32,
    /// 1.33: the G9 clamp (V4), pod generation (V5).
    V1_33,
    /// 1.34: the disruption controller's condition reset writes `observedGeneration` (V11);
    /// streaming lists are served (V10).
    V1_34,
    /// 1.35: the 429's cause text follows the PDB's condition (V7); an undecodable DELETE
    /// body is a 400 (V12); aggregated discovery v2beta1 is no longer served (V18).
    V1_35,
    /// 1.36: no server-side change to eviction (kubectl's changes are client-side).
    V1_36,
    /// 1.37, the newest modelled release and the default: the PDB 403s carry a cause (V8).
    #[default]
    V1_37,
}

impl KubernetesVersion {
    /// The minor version number.
    pub fn minor(self) -> u32 {
        match self {
            KubernetesVersion::V1_30 => 30,
            KubernetesVersion::V1_31 => 31,
            KubernetesVersion::V1_32 => 32,
            KubernetesVersion::V1_33 => 33,
            KubernetesVersion::V1_34 => 34,
            KubernetesVersion::V1_35 => 35,
            KubernetesVersion::V1_36 => 36,
            KubernetesVersion::V1_37 => 37,
        }
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.minor())
    }
}

impl FromStr for KubernetesVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let trimmed = s.trim().trim_start_matches('v');
        let minor = trimmed
            .strip_prefix("1.")
            .map(|rest| rest.split('.').next().unwrap_or(rest));
        match minor {
            Some("30") => Ok(KubernetesVersion::V1_30),
            Some("31") => Ok(KubernetesVersion::V1_31),
            Some("32") => Ok(KubernetesVersion::V1_32),
            Some("33") => Ok(KubernetesVersion::V1_33),
            Some("34") => Ok(KubernetesVersion::V1_34),
            Some("35") => Ok(KubernetesVersion::V1_35),
            Some("36") => Ok(KubernetesVersion::V1_36),
            Some("37") => Ok(KubernetesVersion::V1_37),
            _ => Err(format!(
                "unsupported kubernetesVersion {s:?}: evictsim models 1.30 through 1.37"
            )),
        }
    }
}

impl Serialize for KubernetesVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KubernetesVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
