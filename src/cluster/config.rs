//! How a [`Cluster`](super::Cluster) is set up: the Kubernetes release it reproduces, which
//! controllers run, their latencies, the rate limiter, the store's and the event log's bounds,
//! the containers' default behaviour.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cluster::{KubernetesVersion, RateLimit};
use crate::time::Time;

/// Which controllers run. A controller that is off leaves its objects exactly as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Controllers {
    /// The disruption controller (PDB status).
    #[serde(default = "yes")]
    pub disruption: bool,
    /// Endpoints and EndpointSlice controllers.
    #[serde(default = "yes")]
    pub endpoints: bool,
    /// Workload controllers.
    #[serde(default = "yes")]
    pub workloads: bool,
    /// Each node's kubelet.
    #[serde(default = "yes")]
    pub kubelet: bool,
}

fn yes() -> bool {
    true
}

impl Default for Controllers {
    fn default() -> Self {
        Controllers {
            disruption: true,
            endpoints: true,
            workloads: true,
            kubelet: true,
        }
    }
}

/// How long controllers take to react. Zero (the default) means in the same virtual instant
/// as the change they react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latencies {
    /// Delay between a PDB or pod change and the disruption controller's sync of the PDB.
    pub disruption_sync: Duration,
    /// Delay between a pod change and its kubelet noticing it.
    pub kubelet_observe: Duration,
    /// Delay between a pod or Service change and the endpoints controllers' sync.
    pub endpoints_sync: Duration,
}

impl Latencies {
    /// A documented "realistic" set, one setting away from the idealised default: the
    /// kubelet notices a change about a second later (its pod-lifecycle relist runs every
    /// second), and the disruption controller syncs a second after its inputs change.
    pub fn realistic() -> Self {
        Latencies {
            disruption_sync: Duration::from_secs(1),
            kubelet_observe: Duration::from_secs(1),
            endpoints_sync: Duration::from_secs(1),
        }
    }
}

/// Everything that shapes a cluster before its first command.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// Seeds the one RNG (UIDs, generated names).
    pub seed: u64,
    /// Wall-clock time at virtual time zero.
    pub start: Time,
    /// Which release to behave like.
    pub kubernetes_version: KubernetesVersion,
    /// Which controllers run.
    pub controllers: Controllers,
    /// Controller latencies.
    pub latencies: Latencies,
    /// The optional API rate limiter.
    pub rate_limit: Option<RateLimit>,
    /// The most objects (of all kinds together) the store holds; a create beyond it is
    /// refused with [`ApiError::StoreFull`](crate::error::ApiError::StoreFull), as etcd refuses writes past its space quota.
    /// Default [`DEFAULT_MAX_OBJECTS`].
    pub max_objects: usize,
    /// How many of the newest events the log keeps. Older ones are compacted away as new
    /// ones come (as etcd compacts old revisions; their memory goes about a thousand events
    /// at a time), so memory stays bounded however long a simulation runs; sequence numbers
    /// keep counting. Default [`DEFAULT_EVENT_RETENTION`].
    pub event_retention: usize,
    /// How containers behave where a pod's behaviour annotations do not say (start-up,
    /// shutdown, preStop; see [`Behaviour`](crate::model::Behaviour)). Default: a
    /// well-behaved web server ([`Behaviour::default`](crate::model::Behaviour)).
    pub default_behaviour: crate::model::Behaviour,
}

/// The default [`ClusterConfig::max_objects`]: a million objects, more than six times
/// Kubernetes' published limit of 150,000 pods per cluster.
pub const DEFAULT_MAX_OBJECTS: usize = 1_000_000;

/// The default [`ClusterConfig::event_retention`].
pub const DEFAULT_EVENT_RETENTION: usize = 1_000_000;

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            seed: 1,
            start: crate::time::DEFAULT_START,
            kubernetes_version: KubernetesVersion::default(),
            controllers: Controllers::default(),
            latencies: Latencies::default(),
            rate_limit: None,
            max_objects: DEFAULT_MAX_OBJECTS,
            event_retention: DEFAULT_EVENT_RETENTION,
            default_behaviour: crate::model::Behaviour::default(),
        }
    }
}
