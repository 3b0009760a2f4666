# One training run per (method, map, seed). summary.json is written last, so it is the rule's output: the
# run directory with its checkpoints is NOT an output, and Snakemake never deletes it after a failure or a
# kill. Re-running the job therefore resumes from checkpoints/last.pt (`gawm train` does that itself).
rule train:
    output:
        ROOT + "/runs/{method}/{map}/{seed}/summary.json",
    log:
        ROOT + "/logs/train/{method}_{map}_{seed}.log",
    benchmark:
        ROOT + "/benchmarks/train/{method}_{map}_{seed}.tsv"
    params:
        run=RUN,
        steps=lambda wc: B["steps"][wc.map],
        config=lambda wc: method_config(wc.method),
    threads: 2
    resources:
        mem_mb=train_mem_mb,
        runtime=train_minutes,
        cpus_per_task=cpus_per_task,
        gpu=config["gpus_per_train_job"],  # the SLURM profile sets 1 (set-resources)
    retries: 1
    shell:
        "{GAWM} train --method {wildcards.method} --map {wildcards.map} --seed {wildcards.seed} "
        "--steps {params.steps} --out {params.run} --backend {config[backend]} {params.config} --no-progress "
        "> {log} 2>&1"
