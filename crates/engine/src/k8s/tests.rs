use std::time::{Duration, SystemTime};

use super::*;

const PROFILE: &str = "# a comment the ConfigMap keeps\nschema = 1\nname = \"Peak_Test\"\n\
    [target]\nurl = \"http://invoice.svc:8080\"\nconnections = 200\n\
    [load]\n[[load.stage]]\nkind = \"ramp\"\nfrom = 1000\nto = 30000\nduration = \"2m\"\n\
    [[op]]\nname = \"issue\"\nmethod = \"post\"\npath = \"/i\"\n[shards]\ncount = 3\n";

fn made(shards: Option<u64>, namespace: Option<&str>) -> (Manifests, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("peak.toml");
    std::fs::write(&file, PROFILE).unwrap();
    let plan = Plan::load(&file).unwrap();
    let opts = K8sOptions {
        shards,
        image: "registry.example/einv-load:0.1".into(),
        namespace: namespace.map(Into::into),
        start_in: Duration::from_secs(90),
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    (manifests(&plan, &opts, now).unwrap(), dir)
}

fn doc<'a>(m: &'a Manifests, file: &str) -> &'a Value {
    &m.documents.iter().find(|(f, _)| f == file).unwrap().1
}

/// The Job is an Indexed Job of N pods told N, one a node, starting at the instant the
/// manifests name; the ConfigMap holds the profile byte for byte; the merge waits for N.
#[test]
fn the_manifests_run_n_shards_from_one_start_and_merge_them() {
    let (m, _dir) = made(None, None);
    assert_eq!(m.documents.len(), 4, "no namespace asked for");
    assert_eq!(m.run, "einv-peak-test-20261118t110811z");
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000 + 91);
    assert_eq!(m.start_at, start);
    let job = doc(&m, "30-shards-job.yaml");
    let spec = &job["spec"];
    assert_eq!((spec["completionMode"].as_str(), spec["completions"].as_u64()), (Some("Indexed"), Some(3)));
    assert_eq!(spec["parallelism"], 3);
    // 90 s to start, 120 s of schedule, 10 s drain, 300 s margin.
    assert_eq!(spec["activeDeadlineSeconds"], 520);
    let pod = &spec["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["env"][0], json!({"name": "EINV_SHARDS", "value": "3"}));
    let script = c["command"][2].as_str().unwrap();
    assert!(script.contains("run /etc/einv-load/peak.toml --shard auto --start-at 2026-11-18T11:08:11Z"), "{script}");
    let anti = &pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(anti["topologyKey"], "kubernetes.io/hostname");
    assert_eq!(anti["labelSelector"]["matchLabels"], *pod_labels(job));
    // 30,000/s at the peak over 3 shards: a core each, a second one as the limit.
    assert_eq!(c["resources"]["requests"]["cpu"], "1000m");
    assert_eq!(c["resources"]["limits"]["cpu"], "2");
    assert_eq!(doc(&m, "10-configmap.yaml")["data"]["peak.toml"], PROFILE);
    let merge =
        doc(&m, "40-merge-job.yaml")["spec"]["template"]["spec"]["containers"][0]["command"][2].as_str().unwrap();
    assert!(merge.contains("-ge 3 ]") && merge.contains("exec einv-load merge"), "{merge}");
    assert_eq!(doc(&m, "20-volume.yaml")["spec"]["accessModes"], json!(["ReadWriteMany"]));
    assert!(m.notes.is_empty(), "{:?}", m.notes);
}

fn pod_labels(job: &Value) -> &Value {
    &job["spec"]["template"]["metadata"]["labels"]
}

/// More shards ask less of each pod; a namespace is created and holds every object.
#[test]
fn the_split_sizes_each_pod_and_the_namespace_holds_everything() {
    let (m, _dir) = made(Some(16), Some("load-test"));
    assert_eq!(m.documents[0].1["kind"], "Namespace");
    assert!(m.documents[1..].iter().all(|(_, d)| d["metadata"]["namespace"] == "load-test"));
    let c = &doc(&m, "30-shards-job.yaml")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["resources"]["requests"]["cpu"], "500m", "1,875/s a shard: the floor of half a core");
    assert_eq!(c["env"][0]["value"], "16");
    let stream = m.to_stream(16);
    assert_eq!(stream.matches("\n---\n").count() + usize::from(stream.starts_with("---")), 5);
}

#[test]
fn bad_flags_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        PROFILE.replace("from = 1000\nto = 30000\nduration = \"2m\"", "from = 1\nto = 1\nduration = \"2s\""),
    )
    .unwrap();
    let plan = Plan::load(&file).unwrap();
    let now = SystemTime::now();
    let opts = |shards, image: &str, ns: Option<&str>| K8sOptions {
        shards,
        image: image.into(),
        namespace: ns.map(Into::into),
        start_in: Duration::from_secs(60),
    };
    let e = |o: K8sOptions| manifests(&plan, &o, now).unwrap_err().to_string();
    assert!(e(opts(Some(0), "i", None)).starts_with("--shards: must be from 1 to 1000, got 0"));
    assert!(e(opts(Some(3), "i", None)).starts_with("--shards: "), "2 arrivals cannot make 3 shards");
    assert!(e(opts(Some(1), "", None)).starts_with("--image: "));
    assert!(e(opts(Some(1), "i", Some("Load_Test"))).starts_with("--namespace: \"Load_Test\""));
}

/// A feeder under the profile's folder rides in the ConfigMap, mounted at the path the
/// profile names it by; one outside it is left to the user, by name.
#[test]
fn files_the_profile_reads_ride_along_when_they_lie_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("load");
    std::fs::create_dir_all(sub.join("data")).unwrap();
    std::fs::write(sub.join("data/ids.csv"), "tax_id\n91350100M000100Y43\n").unwrap();
    std::fs::write(dir.path().join("far.csv"), "tax_id\n91350100M000100Y43\n").unwrap();
    let feeders =
        "[[feeder]]\nname = \"ids\"\npath = \"data/ids.csv\"\n[[feeder]]\nname = \"far\"\npath = \"../far.csv\"\n";
    let file = sub.join("p.toml");
    std::fs::write(&file, PROFILE.replace("[shards]", &format!("{feeders}[shards]"))).unwrap();
    let plan = Plan::load(&file).unwrap();
    let opts = K8sOptions { shards: None, image: "i:1".into(), namespace: None, start_in: Duration::from_secs(60) };
    let m = manifests(&plan, &opts, SystemTime::now()).unwrap();
    assert_eq!(doc(&m, "10-configmap.yaml")["data"]["data.ids.csv"], "tax_id\n91350100M000100Y43\n");
    let volume = &doc(&m, "30-shards-job.yaml")["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"];
    assert_eq!(volume[1], json!({"key": "data.ids.csv", "path": "data/ids.csv"}));
    assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
    assert!(m.notes[0].starts_with("the profile reads far.csv"), "{:?}", m.notes);
}
