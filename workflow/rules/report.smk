# Tables 1-3 beside the published numbers, and Figures 3-5, from every run of the budget.
EVALUATIONS = expand(ROOT + "/runs/{method}/{map}/{seed}/evaluation.json", method=METHODS, map=MAPS, seed=SEEDS)
ANALYSES = expand(ROOT + "/runs/{method}/{map}/{seed}/analysis.json", method=WM_METHODS, map=ANALYSIS_MAPS,
                  seed=SEEDS)
TABLES = ["table1_win_rates", "table2_gci", "table3_gpe"]
FIGURES = ["fig3_win_rate", "fig4_wm_loss", "fig5_gawm_vs_gawm_star"]


rule tables:
    input:
        EVALUATIONS,
        ANALYSES,
        published=expand(str(REPO / "gawm" / "report" / "published" / "{t}.csv"), t=TABLES),
    output:
        [report(f"{ROOT}/tables/{t}.md", caption="../report/tables.rst", category="Tables") for t in TABLES],
        [f"{ROOT}/tables/{t}.csv" for t in TABLES],
    log:
        ROOT + "/logs/tables.log",
    threads: 1
    resources:
        mem_mb=mem_mb("tables"),
        runtime=30,
        cpus_per_task=cpus_per_task,
    params:
        published=REPO / "gawm" / "report" / "published",
    shell:
        "{GAWM} table --results {ROOT} --published {params.published} --out {ROOT}/tables > {log} 2>&1"


rule figures:
    input:
        EVALUATIONS,
    output:
        [report(f"{FIGS}/{f}.png", caption="../report/figures.rst", category="Figures") for f in FIGURES],
        [f"{FIGS}/{f}.pdf" for f in FIGURES],
    log:
        ROOT + "/logs/figures.log",
    threads: 1
    resources:
        mem_mb=mem_mb("figures"),
        runtime=30,
        cpus_per_task=cpus_per_task,
    shell:
        "{GAWM} plot --results {ROOT} --out {FIGS} > {log} 2>&1"
