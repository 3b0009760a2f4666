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
        mem_mb=2000,
        runtime=30,
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
        mem_mb=4000,
        runtime=60,
    shell:
        "{GAWM} analyze --run {params.run} --pairs {params.pairs} {params.config} --out {output} --no-progress "
        "> {log} 2>&1"
