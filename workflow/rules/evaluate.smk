# Table 1's test (final checkpoint, greedy, N episodes) and Tables 2-3's offline world-model analysis.
rule evaluate:
    input:
        ROOT + "/runs/{method}/{map}/{seed}/summary.json",
    output:
        ROOT + "/runs/{method}/{map}/{seed}/evaluation.json",
    log:
        ROOT + "/logs/evaluate/{method}_{map}_{seed}.log",
    benchmark:
        ROOT + "/benchmarks/evaluate/{method}_{map}_{seed}.tsv"
    params:
        run=RUN,
        episodes=B["eval_episodes"],
    threads: 1
    resources:
        mem_mb=mem_mb("evaluate"),
        runtime=30,
        cpus_per_task=cpus_per_task,
    shell:
        "{GAWM} evaluate --run {params.run} --episodes {params.episodes} --out {output} > {log} 2>&1"


rule analyze:
    input:
        ROOT + "/runs/{method}/{map}/{seed}/summary.json",
    output:
        ROOT + "/runs/{method}/{map}/{seed}/analysis.json",
    log:
        ROOT + "/logs/analyze/{method}_{map}_{seed}.log",
    benchmark:
        ROOT + "/benchmarks/analyze/{method}_{map}_{seed}.tsv"
    params:
        run=RUN,
        pairs=B["analysis_pairs"],
        config="" if B["analysis_config"] is None else f"--config {REPO / B['analysis_config']}",
    threads: 1
    resources:
        mem_mb=mem_mb("analyze"),
        runtime=60,
        cpus_per_task=cpus_per_task,
    shell:
        "{GAWM} analyze --run {params.run} --pairs {params.pairs} {params.config} --out {output} --no-progress "
        "> {log} 2>&1"
