//! A Rust drain loop, written with kube-rs as an operator would, tested against evictsim in
//! process: no socket, no kubeconfig, and tokio's paused clock, so the 5 s pauses after a 429
//! and the wait for each pod's graceful deletion take virtual time only.
//!
//! `cargo run --example kube_rs_drain --features server` prints what it did; its test runs
//! with `cargo test --all-features`.

use std::time::Duration;

use evictsim::cluster::Cluster;
use evictsim::server::Server;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, EvictParams, ListParams};

/// The code under test: cordon `node`, evict each of its pods (retrying a 429 every 5 s),
/// and wait until each is gone. Returns how many 429s it met.
async fn drain(client: kube::Client, node: &str) -> Result<usize, kube::Error> {
    Api::<Node>::all(client.clone()).cordon(node).await?;
    let on_node = Api::<Pod>::all(client.clone())
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await?;
    let mut refusals = 0;
    for pod in on_node {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
        loop {
            match pods.evict(&name, &EvictParams::default()).await {
                Ok(_) => break,
                Err(kube::Error::Api(status)) if status.code == 429 => {
                    refusals += 1;
                    println!("{name}: {} (retrying in 5s)", status.message);
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Err(other) => return Err(other),
            }
        }
        while let Some(current) = pods.get_opt(&name).await? {
            if current.metadata.uid != pod.metadata.uid {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        println!("{name}: evicted and gone");
    }
    Ok(refusals)
}

/// Two nodes, three web pods (two on node-1), a budget of minAvailable 2.
fn cluster() -> Cluster {
    evictsim::scenario::Scenario::parse(include_str!("10-drain-with-kubectl.yaml"))
        .and_then(|s| s.build_cluster())
        .expect("a valid scenario")
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let server = Server::new(cluster());
    let client = kube::Client::new(server.clone(), "default");
    let refusals = drain(client, "node-1").await.expect("the drain completes");
    println!(
        "node-1 drained after {} of virtual time, {refusals} eviction(s) refused on the way",
        server.now()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use evictsim::model::ObjectKey;
    use evictsim::time::SimTime;

    #[tokio::test(start_paused = true)]
    async fn the_drain_waits_for_the_budget_and_finishes() {
        let server = Server::new(cluster());
        let client = kube::Client::new(server.clone(), "default");
        let refusals = drain(client, "node-1").await.unwrap();
        assert!(refusals >= 1, "the budget held the second eviction back");
        let cluster = server.cluster();
        assert!(cluster.pods_on_node("node-1").is_empty());
        assert!(
            cluster
                .pod(&ObjectKey::new("default", "web-7d9f-c"))
                .is_some()
        );
        assert!(cluster.now() < SimTime::from_secs(60));
    }
}
