//! The closed set of kinds evictsim serves, for code that picks a kind at run time (the REST
//! router, scenario files). [`with_kind!`](crate::with_kind) turns a [`Kind`] back into its
//! type.

use std::fmt;

use super::Resource;

/// Every kind evictsim serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `v1` Pod.
    Pod,
    /// `policy/v1` PodDisruptionBudget.
    PodDisruptionBudget,
    /// `v1` Node.
    Node,
    /// `apps/v1` ReplicaSet.
    ReplicaSet,
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` StatefulSet.
    StatefulSet,
    /// `apps/v1` DaemonSet.
    DaemonSet,
    /// `v1` ReplicationController.
    ReplicationController,
    /// `v1` Service.
    Service,
    /// `v1` Endpoints.
    Endpoints,
    /// `discovery.k8s.io/v1` EndpointSlice.
    EndpointSlice,
}

/// Runs `$body` with `$t` bound to the Rust type of the [`Kind`] `$kind`.
///
/// # Examples
/// ```
/// use evictsim::model::{Kind, Resource};
/// let plural = evictsim::with_kind!(Kind::Pod, T => T::PLURAL);
/// assert_eq!(plural, "pods");
/// ```
#[macro_export]
macro_rules! with_kind {
    ($kind:expr, $t:ident => $body:expr) => {{
        use $crate::model::Kind as __Kind;
        match $kind {
            __Kind::Pod => {
                type $t = $crate::model::Pod;
                $body
            }
            __Kind::PodDisruptionBudget => {
                type $t = $crate::model::PodDisruptionBudget;
                $body
            }
            __Kind::Node => {
                type $t = $crate::model::Node;
                $body
            }
            __Kind::ReplicaSet => {
                type $t = $crate::model::ReplicaSet;
                $body
            }
            __Kind::Deployment => {
                type $t = $crate::model::Deployment;
                $body
            }
            __Kind::StatefulSet => {
                type $t = $crate::model::StatefulSet;
                $body
            }
            __Kind::DaemonSet => {
                type $t = $crate::model::DaemonSet;
                $body
            }
            __Kind::ReplicationController => {
                type $t = $crate::model::ReplicationController;
                $body
            }
            __Kind::Service => {
                type $t = $crate::model::Service;
                $body
            }
            __Kind::Endpoints => {
                type $t = $crate::model::Endpoints;
                $body
            }
            __Kind::EndpointSlice => {
                type $t = $crate::model::EndpointSlice;
                $body
            }
        }
    }};
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 11] = [
        Kind::Pod,
        Kind::PodDisruptionBudget,
        Kind::Node,
        Kind::ReplicaSet,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::ReplicationController,
        Kind::Service,
        Kind::Endpoints,
        Kind::EndpointSlice,
    ];

    /// The kind's name, e.g. `Pod`.
    pub fn name(self) -> &'static str {
        crate::with_kind!(self, T => T::KIND)
    }

    /// The kind's API group.
    pub fn group(self) -> &'static str {
        crate::with_kind!(self, T => T::GROUP)
    }

    /// The kind's resource name.
    pub fn plural(self) -> &'static str {
        crate::with_kind!(self, T => T::PLURAL)
    }

    /// Whether objects of this kind live in namespaces.
    pub fn namespaced(self) -> bool {
        crate::with_kind!(self, T => T::NAMESPACED)
    }

    /// Looks a kind up by name (`Pod`, `PodDisruptionBudget`, …).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Looks a kind up by API group and resource name.
    pub fn from_resource(group: &str, plural: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.group() == group && k.plural() == plural)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
