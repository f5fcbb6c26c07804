# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Theory: which steps of the argument hold, and on which data
#
# Section 3.3 and supplementary Section 4 argue that a multimodal student's error is bounded by
#
# $$\mathrm{Err}(f_s(x^\alpha, x^\beta)) \le \frac{4\,\mathrm{Err}(f_t)}{c_1 c_2 - 1} + 4\mu \qquad (13)$$
#
# against
#
# $$\mathrm{Err}(f_s(x^\alpha)) \le \frac{4\,\mathrm{Err}(f_t)}{c_1 - 1} + 4\mu \qquad (14)$$
#
# for a unimodal one, where $c_1, c_2$ are *expansion* constants of the class-conditional
# distributions on $\mathcal{X}^\alpha$ and $\mathcal{X}^\beta$ (Assumption 1), and Lemma 1 turns
# them into $c_1 c_2$ on $\mathcal{X}$ using conditional independence (Assumption 2). This
# chapter checks each step: the calculus of Eq. 18-20 with SymPy, Lemma 1 exhaustively on small
# discrete spaces, the assumptions on TwoMoon samples, and the bounds against the errors the
# TwoMoon chapter measured. Every check ends in a verdict: **holds**, **fails** or **vacuous**.

# %% tags=["parameters"]
profile = "book"         # quick | book | paper
device = "cpu"           # the checks are small; cpu | auto | cuda
n_samples = 40000        # draws from the true TwoMoon distribution per estimate
n_repeats = 3            # independent samples per estimate (mean ± std over them)
results_dir = "results"  # relative to executed/; reads twomoon.json from here
threads = 2              # torch threads

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import mke
from mke import plots
from mke.data.twomoon import twomoon_task
from mke.experiments.theory import PARAMETERS as THEORY_PARAMETERS
from mke.experiments.theory import TABLE_TITLES as THEORY_TABLE_TITLES
from mke.results import read_results, result_row, write_results
from mke.verdicts import claims_frame
from mke.runtime import DEVICES, resolve_device
from theory import lemma1, symbolic
from theory import twomoon as th
from theory import claims as theory_claims
from theory.estimators import bound_status, theorem1_bound

THEORY_PARAMETERS.validate(globals())  # every parameter, before any work
torch.set_num_threads(threads)
twomoon_doc = read_results("twomoon", results_dir)  # the measured errors
quick = profile == "quick"
rows, claims = [], []
plots.style()
pd.set_option("display.width", 160)
print(f"mke {mke.__version__} | torch {torch.__version__} | device {resolve_device(device).type} | "
      f"reads twomoon.json ({twomoon_doc['parameters']['n_seeds']} seeds)")

# %% [markdown]
# ## Eq. (18)-(19): the gradient of $l_{cls}$
#
# $l_{cls}(y, p) = -\sum_k y_k \log \mathrm{softmax}(p)_k + \sum_k y_k \log y_k$. SymPy
# differentiates it for $K = 2, \dots, 6$ and compares with $z_j - y_j$ (Eq. 19). The raw
# derivative is $z_j \sum_k y_k - y_j$: the identity needs $\sum_k y_k = 1$, which a label
# distribution satisfies.

# %% tags=["nbval-check-output"]
for K in range(2, 7):
    r = symbolic.check_eq19(K)
    rows.append(result_row("eq19", f"K={K}", "sympy", "dl_dp_equals_z_minus_y", [float(r["holds"])],
                           status="holds" if r["holds"] else "fails", needs_sum_y_equal_1=r["needs_sum_y_equal_1"]))
    print(f"K={K}: d l/d p_j = z_j - y_j {'holds' if r['holds'] else 'FAILS'}"
          f" (and only on the simplex: {r['needs_sum_y_equal_1']})")

# %% [markdown]
# ## Eq. (20): the Lipschitz constant
#
# The paper bounds $\|\nabla l_{cls}\| = \|z - y\|$ by $\sqrt{K}$. On the simplex,
# $\|z - y\|^2 \le \sum_k z_k^2 + \sum_k y_k^2 \le 2$, with equality for two distinct one-hot
# vectors: the tight constant is $\sqrt 2$ for every $K$. We confirm it by enumerating the vertices
# symbolically and by sampling 20,000 pairs per $K$.

# %% tags=["nbval-check-output"]
for K in range(2, 7):
    r = symbolic.check_eq20(K)
    rows.append(result_row("eq20", f"K={K}", "sympy+sampling", "tight_lipschitz_constant", [r["tight_constant"]],
                           status="holds" if r["holds"] else "fails", paper_constant=r["paper_constant"],
                           numeric_max=r["numeric_max"], paper=r["paper_constant"], headline=K == 3))
    print(f"K={K}: paper sqrt(K) = {r['paper_constant']:.4f}, tight = {r['tight_constant']:.4f}, "
          f"largest sampled ||z - y|| = {r['numeric_max']:.4f} -> sqrt(2) {'holds' if r['holds'] else 'FAILS'}")

# %% [markdown]
# Which constant does the argument need? Any valid one: it only uses that
# $|l_{cls}(y, p') - l_{cls}(y, p)| \le L \|p' - p\|$ to write Eq. 17's loss as Eq. 3's with
# some $|\gamma| \le L$. $\sqrt K \ge \sqrt 2$, so the paper's interval is valid but loose for
# $K > 2$. The argument has a gap the constant does not fix: $\gamma$ depends on the sample, the
# draw of $\mathcal{T}$ and $\theta_s$, so the equality of the two losses at one $\theta_s$ does
# not make their minimisers equal. We measure $\gamma$ on trained students at the end.

# %% [markdown]
# ## Lemma 1, the algebra
#
# (21) follows from (10) because $c_1 \le 1/\bar a$ and $P_i(V^\alpha) \le \bar a$ give
# $c_1 P_i(V^\alpha) \le 1$, so the $\min\{\cdot, 1\}$ is inactive; (23) multiplies two
# inequalities between non-negative numbers; (24) then needs $V = V^\alpha \times V^\beta$ with
# *both* marginals of mass $\le \bar a$, and a product neighbourhood. The lemma claims it for
# *every* $V$ with $P_i(V) \le \bar a$, and drops the $\min$.

# %% tags=["nbval-check-output"]
alg = symbolic.check_lemma1_algebra()
for key, value in alg.items():
    status = ("holds" if value else "fails") if isinstance(value, bool) else "info"
    rows.append(result_row("lemma1_symbolic", key, "sympy", key, [float(value) if isinstance(value, bool) else math.nan],
                           status=status, detail=str(value)))
    print(f"{key:40s} {value!s:8s} {status}")

# %% [markdown]
# ## Lemma 1, exhaustively
#
# Small spaces: $|\mathcal{X}^\alpha|, |\mathcal{X}^\beta| \in \{2, 3, 4\}$, neighbourhoods from a
# path or a cycle, a point's neighbourhood in $\mathcal{X}$ the product of its coordinates',
# random class-conditional distributions. For each instance we enumerate **every** subset $V$ of
# $\mathcal{X}$ (up to $2^{16}$), take the largest $c_1, c_2$ that Assumption 1 allows
# ($\le 1/\bar a$), and test $P_i(N(V)) \ge \min\{c_1 c_2 P_i(V), 1\}$ for all $V$ with
# $P_i(V) \le \bar a$; then again with Assumption 2 broken by moving a share of the mass onto a
# 'diagonal'.

# %% tags=["nbval-check-output"]
n_trials = 60 if quick else 300
sizes = ((2, 2), (2, 3), (3, 3), (3, 4), (4, 4))
summary = []
for dependence in (0.0, 0.3, 0.7):
    inst = lemma1.search(n_trials, seed=1, sizes=sizes, dependence=dependence)
    a1 = [x for x in inst if x["assumption1_bounds"] and x["c1c2_gt_5"]]
    all_ok = np.mean([x["violations"] == 0 for x in a1]) * 100
    prod_ok = np.mean([x["c_products"] >= x["c1"] * x["c2"] - 1e-9 for x in a1]) * 100
    summary.append({"Assumption 2": "holds" if dependence == 0 else f"broken ({dependence:.0%} coupled)",
                    "instances meeting Assumption 1": len(a1), "lemma on product sets (% of instances)": f"{prod_ok:.1f}",
                    "lemma on all sets (% of instances)": f"{all_ok:.1f}"})
    for metric, value in (("product_sets_pct", prod_ok), ("all_sets_pct", all_ok)):
        rows.append(result_row("lemma1_exhaustive", f"dependence={dependence}", "exhaustive", metric, [value],
                               status="holds" if value == 100 else "fails", n_instances=len(a1),
                               paper=100.0, headline=dependence == 0.0 and metric == "all_sets_pct"))
    if dependence == 0.0:
        bad = [x for x in a1 if x["violations"]]
        smallest = min(bad, key=lambda x: (x["n_a"] * x["n_b"], len(x["worst"]["V"]), x["a"])) if bad else None
print(pd.DataFrame(summary).to_string(index=False))

# %% [markdown]
# The smallest counterexample that satisfies every condition of Assumption 1 ($1 < c_1, c_2 \le
# 1/\bar a$, $c_1 c_2 > 5$) and Assumption 2:

# %% tags=["nbval-check-output"]
if smallest is None:
    print("no counterexample found")
else:
    w = smallest["worst"]
    print(f"|X^alpha| x |X^beta| = {smallest['n_a']} x {smallest['n_b']} ({smallest['graphs'][0]} x {smallest['graphs'][1]}), "
          f"a = {smallest['a']}, c1 = {smallest['c1']:.3f}, c2 = {smallest['c2']:.3f}, c1 c2 = {smallest['c1'] * smallest['c2']:.3f}")
    print(f"V = {w['V']}: P(V) = {w['P(V)']:.3f} <= a, P(N(V)) = {w['P(N(V))']:.3f} < min(c1 c2 P(V), 1) = "
          f"{w['min(c1*c2*P(V), 1)']:.3f}")
    print(f"the joint's true expansion coefficient is {smallest['c_true']:.3f}, not c1 c2")
    rows.append(result_row("lemma1_exhaustive", "smallest_counterexample", "exhaustive", "true_c_over_c1c2",
                           [smallest["c_true"] / (smallest["c1"] * smallest["c2"])], status="fails",
                           counterexample={k: (str(v) if k == "worst" else v) for k, v in smallest.items()}))

# %% [markdown]
# So Lemma 1 holds on product sets whose marginals both have mass $\le \bar a$ (exactly what the
# algebra covers) and fails in general: a single point $V = \{(u, v)\}$ can have mass below
# $\bar a$ while each coordinate's mass is above it, where (21)-(22) say nothing. Breaking
# Assumption 2 breaks even the product case.
#
# ## The assumptions on TwoMoon
#
# TwoMoon can be sampled at will. The proof applies expansion to the teacher's mistakes
# $\mathcal{M}(\theta_t)$ within each class; T1 with level $v_0$ moves a point by Gaussian noise of
# scale $v_0 \cdot \mathrm{mean}|x|$, which we take as the radius $r$ of the neighbourhood. For
# each class we estimate, from fresh samples of the true distribution:
#
# * $c_1$: $P_i(N_r(V))/P_i(V)$ for $V$ = the class's teacher mistakes, distances along X only;
# * $c$: the same with 2-D distances (what the multimodal student's T sees);
# * $c_2$: the worst expansion along Y over intervals of mass $\le \bar a$ (Assumption 1's form);
#
# and take the minimum over classes, as Assumption 1 has one constant for all classes.

# %%
task = twomoon_task()
teachers = th.teachers(task)
sample = th.twomoon_sampler(task.info["moon_noise"])
mean_abs = float(task.inputs("D_u", task.modalities).abs().mean())
v0_grid = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0) if not quick else (1.0, 2.0)
radii = [v0 * mean_abs for v0 in v0_grid]
draws = [sample(n_samples, 1000 + k) for k in range(n_repeats)]
est = {compat: [th.estimate_expansion(t, X, y, radii) for X, y in draws] for compat, t in teachers.items()}


def expansion_stats(compat, radius_index):
    """(c1, c2, c) as mean and std over the repeated samples, each the minimum over classes."""
    per = []
    for rep in est[compat]:
        at = [e for e in rep if abs(e["radius"] - radii[radius_index]) < 1e-12]
        per.append([min(e[k] for e in at) for k in ("c1", "c2", "c")])
    per = np.array(per)
    return per.mean(0), per.std(0, ddof=1) if len(per) > 1 else np.zeros(3)


table = []
for compat in (False, True):
    net = "paper-compat" if compat else "corrected"
    for k, v0 in enumerate(v0_grid):
        (c1, c2, c), (s1, s2, s) = expansion_stats(compat, k)
        table.append({"network": net, "v0": v0, "radius": f"{radii[k]:.3f}", "c1 (X)": f"{c1:.3f} ± {s1:.3f}",
                      "c2 (Y)": f"{c2:.3f} ± {s2:.3f}", "c1*c2": f"{c1 * c2:.3f}", "c (X,Y)": f"{c:.3f} ± {s:.3f}",
                      "c / c1": f"{c / c1:.3f}"})
        for name, val, sd in (("c1", c1, s1), ("c2", c2, s2), ("c", c, s), ("c1c2", c1 * c2, 0.0)):
            rows.append(result_row("expansion", f"{net} v0={v0:g}", "estimate", name, [float(val)],
                                   std_over_samples=float(sd), radius=radii[k],
                                   status="holds" if (name != "c" or val >= c1 * c2) else "fails",
                                   paper=float(c1 * c2) if name == "c" else None,
                                   headline=name == "c" and v0 == 2.0 and not compat))

# %%
print(pd.DataFrame(table).to_string(index=False))

# %% [markdown]
# Two things stand out. First, $c$ is about $c_1$, never near $c_1 c_2$: the teacher sees
# $x^\alpha$ only, so its mistakes form a band $\{x : f_t(x^\alpha) \ne i\}$, a product of a set
# in $\mathcal{X}^\alpha$ with *all* of $\mathcal{X}^\beta$; a set of mass 1 along Y cannot
# expand along Y. (And a ball of radius $r$ is contained in the band $|\Delta x| \le r$, so $c
# \le c_1$ for any such set.) Second, $c_1 c_2 > 5$, which Assumption 1 demands, only holds at
# large radii, where T is strong enough to wash out the data.
#
# **Assumption 2.** Within a moon, X and Y are dependent by construction (points lie on a half
# circle). HSIC with a permutation test, per class:

# %%
dep = th.conditional_dependence(*draws[0], n=200 if quick else 300, n_permutations=100 if quick else 200)
for d in dep:
    verdict = "fails" if d["p_value"] < 0.05 else "holds"
    rows.append(result_row("conditional_independence", f"class {d['class']}", "hsic_permutation", "p_value",
                           [d["p_value"]], status=verdict, hsic=d["hsic"], n=d["n"], pearson=d["corr"]))
    print(f"class {d['class']}: HSIC = {d['hsic']:.4f}, permutation p = {d['p_value']:.3f} (n = {d['n']}), "
          f"Pearson r = {d['corr']:+.3f} -> conditional independence {verdict}")

# %% [markdown]
# A correlation near zero would have passed a linear test; HSIC sees the curved dependence.
#
# ## Theorem 1 against the measured errors
#
# For every Table 1 setting of both networks we set the bounds beside the errors the TwoMoon
# chapter measured (mean over its seeds): Eq. 14 for the UM student with $c_1$, Eq. 13 for the
# MM student with $c_1 c_2$ (what the paper claims) and with the measured $c$ (what the data
# give). We take $\mu = 0$, the most favourable value: a bound that fails here fails for every
# $\mu \ge 0$. T2 and T3 perturb hidden units and induce no input-space ball; for them we use
# T1's $v_0 = 1$ radius as a reference, and with no transformation the radius is 0, $c = 1$ and
# the bound is infinite.

# %%
def expansion_at(compat, r):
    if r <= 0:
        return 1.0, 1.0, 1.0
    k = int(np.argmin([abs(r - x) for x in radii]))
    if abs(radii[k] - r) > 1e-9:  # a radius off the grid: estimate it now, min over classes, first sample
        e = th.estimate_expansion(teachers[compat], *draws[0], [r])
        return tuple(min(x[key] for x in e) for key in ("c1", "c2", "c"))
    return tuple(expansion_stats(compat, k)[0])


thm = th.theorem1_table(twomoon_doc, expansion_at, mean_abs)
for t in thm:
    for method, metric, value, status in (("um_student", "eq14_bound", t["eq14_bound_um"], t["eq14_status"]),
                                          ("mm_student", "eq13_bound_c1c2", t["eq13_bound_mm"], t["eq13_status"]),
                                          ("mm_student", "eq13_bound_measured_c", t["eq13_with_measured_c"],
                                           t["eq13_measured_c_status"])):
        rows.append(result_row("theorem1", f"{t['network']} {t['setting']}", method, metric,
                               [value if math.isfinite(value) else 1e9], status=status, infinite=not math.isfinite(value),
                               measured_error=t["um_err" if method == "um_student" else "mm_err"],
                               teacher_error=t["teacher_err"], radius=t["radius"], radius_from=t["radius_from"]))


def fmt(x):
    return "inf" if not math.isfinite(x) else f"{x:.3f}"


# %%
print(pd.DataFrame([{"network": t["network"], "setting": t["setting"], "Err(t)": f"{t['teacher_err']:.3f}",
                     "UM err": f"{t['um_err']:.3f}", "Eq.14": f"{fmt(t['eq14_bound_um'])} {t['eq14_status']}",
                     "MM err": f"{t['mm_err']:.3f}", "Eq.13 c1c2": f"{fmt(t['eq13_bound_mm'])} {t['eq13_status']}",
                     "Eq.13 measured c": f"{fmt(t['eq13_with_measured_c'])} {t['eq13_measured_c_status']}"}
                    for t in thm]).to_string(index=False))

# %% [markdown]
# Across regularisation strengths (T1, the featured network's finer sweep from the TwoMoon
# chapter): the measured MM error and the two versions of Eq. 13. Bounds at or above 1 say
# nothing about a 0-1 error and are drawn at 1.

# %%
featured = "paper-compat" if twomoon_doc["parameters"]["paper_compat"] else "corrected"
den = [r for r in twomoon_doc["rows"] if r["table"].startswith("denoising") and r["metric"] == "test_acc"
       and r["setting"].startswith("T1") and r["method"] == "mm_student"]
err_t = next(t["teacher_err"] for t in thm if t["network"] == featured)
lv, measured, b_c1c2, b_c = [], [], [], []
for r in sorted(den, key=lambda r: float(r["setting"].split("=")[1])):
    v0 = float(r["setting"].split("=")[1])
    c1, c2, c = expansion_at(featured == "paper-compat", v0 * mean_abs)
    lv.append(v0)
    measured.append(1 - r["mean"] / 100)
    b_c1c2.append(min(theorem1_bound(err_t, c1 * c2), 1.0))
    b_c.append(min(theorem1_bound(err_t, c), 1.0))
    errors = 1 - np.array(r["values"]) / 100  # per seed
    claims.append(theory_claims.bound_claim(f"Theorem 1: the MM student's error is below Eq. 13 with c1 c2 and mu = 0 "
                                            f"(TwoMoon, {featured} net, T1 v0={v0:g})", b_c1c2[-1], errors,
                                            c1 * c2, "theorem-1"))
    for metric, bound in (("eq13_bound_c1c2", b_c1c2[-1]), ("eq13_bound_measured_c", b_c[-1])):
        rows.append(result_row("theorem1_sweep", f"{featured} T1 v0={v0:g}", "mm_student", metric, [bound],
                               status=bound_status(bound, measured[-1]), measured_error=measured[-1],
                               teacher_error=err_t, headline=(metric == "eq13_bound_c1c2" and v0 == max(
                                   float(x["setting"].split("=")[1]) for x in den))))
fig, ax = plt.subplots(figsize=(7, 4.2))
ax.plot(lv, measured, "o-", label="MM student, measured test error")
ax.plot(lv, b_c1c2, "s--", label="Eq. 13 with $c_1 c_2$ (the paper's claim)")
ax.plot(lv, b_c, "^--", label="Eq. 13 with the measured $c$")
ax.axhline(err_t, color="gray", lw=1, ls=":", label="teacher error")
ax.set_xlabel("T1 level $v_0$")
ax.set_ylabel("error")
ax.set_ylim(0, 1.05)
ax.set_title(f"Theorem 1 vs measurement ({featured} network, $\\mu = 0$)", fontsize=10)
ax.legend(fontsize=8)
plots.show(fig)

# %%
for v0, m, b1, b2 in zip(lv, measured, b_c1c2, b_c):
    print(f"v0={v0:<4g} measured MM error {m:.3f} | Eq. 13 with c1c2: {b1:.3f} {bound_status(b1, m):8s} "
          f"| with measured c: {b2:.3f} {bound_status(b2, m)}")

# %% [markdown]
# Read together: with the paper's $c_1 c_2$ the bound is informative at moderate noise and holds
# on Table 1's settings, but that constant is not what the data have on the set the proof uses;
# with the measured $c$ the bound is vacuous or barely below 1. At strong noise the estimated
# $c_1 c_2$ grows faster than the student improves, and the paper's bound is violated: the
# student's error rises again as T washes out the data, while a bound driven by expansion alone
# keeps falling. The theorem's other ingredients (Assumption 3.3 of Wei et al. with its $\mu$,
# a student that minimises their population objective) are what such strong T breaks.
#
# ## Eq. 17 against Eq. 3: the $\gamma$ that makes them equal
#
# On trained MM students (corrected network, seed 81, the teacher's hard labels on $D_u$) we
# measure Eq. 17's loss $L_{17} = \frac1M\sum_i l_{cls}(\tilde y_i, \mathcal T(f_s(x_i)))$,
# $L_{pl}$ and $L_{reg}$ (Eq. 4-5, L2 distance), averaged over 200 draws of $\mathcal T$, and
# $\gamma^* = (L_{17} - L_{pl}) / L_{reg}$; per sample and draw, the ratio
# $|l(\tilde y, \mathcal T f) - l(\tilde y, f)| / \|\mathcal T f - f\|$ must stay below the
# Lipschitz constant $\sqrt 2$.

# %%
gamma_rows = []
for setting in (("T1 v0=1", "T1 v0=2") if quick else ("T1 v0=1", "T1 v0=2", "T2 v1=10", "T3 r0=0.8")):
    g = th.eq17_gamma(task, teachers[False], setting, n_draws=50 if quick else 200, epochs=300 if quick else 2000)
    ok = g["max_abs_per_sample_ratio"] <= math.sqrt(2) + 1e-6
    rows.append(result_row("eq17_gamma", setting, "mm_student", "gamma", [g["gamma"]], status=g["status"],
                           L17=g["L17"], L_pl=g["L_pl"], L_reg=g["L_reg"],
                           max_per_sample_ratio=g["max_abs_per_sample_ratio"],
                           per_sample_within_sqrt2="holds" if ok else "fails"))
    gamma_rows.append({"setting": setting, "L17": f"{g['L17']:.4f}", "L_pl": f"{g['L_pl']:.4f}", "L_reg": f"{g['L_reg']:.4f}",
                       "gamma*": f"{g['gamma']:+.4f}", "in [-sqrt K, sqrt K]": g["status"],
                       "max per-sample ratio": f"{g['max_abs_per_sample_ratio']:.3f}",
                       "<= sqrt 2": "holds" if ok else "fails"})
print(pd.DataFrame(gamma_rows).to_string(index=False))

# %% [markdown]
# ## Results file and verdicts

# %%
claims += [theory_claims.exact(f"Eq. 19: the gradient of l_cls is z - y ({r['setting']})", r["status"] == "holds",
                               "eq-18-19-the-gradient-of-l-cls") for r in rows if r["table"] == "eq19"]
claims += [theory_claims.exact(f"Eq. 20: l_cls is sqrt(K)-Lipschitz in p ({r['setting']})", r["status"] == "holds",
                               "eq-20") for r in rows if r["table"] == "eq20"]
claims += [theory_claims.exact(f"Lemma 1 holds on every instance searched, "
                               f"{'product sets' if r['metric'] == 'product_sets_pct' else 'all sets'} "
                               f"({r['setting']})", r["status"] == "holds", "lemma-1-exhaustively",
                               note=f"{r['mean']:.2f} % of instances satisfy it")
           for r in rows if r["table"] == "lemma1_exhaustive" and r["metric"].endswith("_pct")]
path = write_results("theory", THEORY_PARAMETERS.record(globals(), v0_grid=list(v0_grid)), rows, results_dir, "cpu",
                     claims=claims, extra={"table_titles": THEORY_TABLE_TITLES})
print(f"wrote {len(rows)} rows to {path}")

# %%
verdicts = pd.DataFrame(rows).groupby(["table", "status"]).size().unstack(fill_value=0)
print(verdicts.to_string())
claims_frame(claims)
