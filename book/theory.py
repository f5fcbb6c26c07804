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
# TwoMoon chapter measured. Every check ends in a verdict (**holds** or **fails**, *exact* for
# symbolic and exhaustive checks) or says why it is not a test: **vacuous** (a bound at or above
# 1), **assumptions unmet**, or an **estimate** (a constant, which has no verdict of its own).

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
from myst_nb import glue
from mke import report
from mke.experiments.twomoon import authors_seeds as tm_seeds
from mke.metrics import mean_std
from mke.results import find_rows
from mke.verdicts import paired

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
                               headline=dependence == 0.0 and metric == "all_sets_pct"))
    if dependence == 0.0:
        bad = [x for x in a1 if x["violations"]]
        smallest = min(bad, key=lambda x: (x["n_a"] * x["n_b"], len(x["worst"]["V"]), x["a"])) if bad else None
report.table(pd.DataFrame(summary), f"Lemma 1 searched exhaustively on {n_trials} random instances per setting: "
             "the share of instances meeting Assumption 1 on which the lemma holds")

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
# scale $v_0 \cdot \mathrm{mean}|x|$, which we take as the radius $r$ of the neighbourhood. From
# fresh samples of the true distribution we estimate, for each class,
#
# * $c_1$: $P_i(N_r(V))/P_i(V)$ for $V$ = the class's teacher mistakes, distances along X only;
# * $c$: the same with 2-D distances (what the multimodal student's T sees);
# * $c_2$: the worst expansion along Y over intervals of mass $\le \bar a$ (Assumption 1's form);
#
# and take the minimum over classes, as Assumption 1 has one constant for all classes. The
# bounds also carry $\mu$, which the paper leaves unspecified: in Wei et al. (2021, Assumption
# 3.3) it is the probability that the *ground-truth* classifier $G^*$ changes its label inside a
# point's neighbourhood, $\mu = P_x[\exists x' \in N_r(x): G^*(x') \ne G^*(x)]$. TwoMoon's
# generating process is known (points on two half circles plus Gaussian noise), so $G^*$ is its
# Bayes classifier, and $\mu(r)$ is the share of points within $r$ of $G^*$'s boundary: with the
# 2-D ball for the MM student (Eq. 13) and the interval along X, with the Bayes classifier of
# $x^\alpha$ alone, for the UM student (Eq. 14). The teacher's error $\mathrm{Err}(f_t)$ is
# measured on the same fresh samples.

# %%
task = twomoon_task()
teachers = th.teachers(task)
sample = th.twomoon_sampler(task.info["moon_noise"])
mean_abs = float(task.inputs("D_u", task.modalities).abs().mean())
v0_grid = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0) if not quick else (1.0, 2.0)
radii = [v0 * mean_abs for v0 in v0_grid]
draws = [sample(n_samples, 1000 + k) for k in range(n_repeats)]
est = {compat: [th.estimate_expansion(t, X, y, radii) for X, y in draws] for compat, t in teachers.items()}
# the teacher's population error, on the same samples as the expansion (mean over the draws)
err_pop = {compat: float(np.mean([th.teacher_mistakes(t, X, y).mean() for X, y in draws]))
           for compat, t in teachers.items()}
# mu per radius: G*'s boundary found on a grid of spacing 0.01 (an exact distance to within it);
# one draw suffices, mu is a share of n_samples points (binomial std <= 0.5 / sqrt(n))
mu = th.estimate_mu(sample, *draws[0], radii, step=0.01)


def expansion_stats(compat, radius_index, with_product=False):
    """(c1, c2, c) as mean and std over the repeated samples, each the minimum over classes;
    with ``with_product`` also c1 c2 (mean and std of the per-sample product)."""
    per = []
    for rep in est[compat]:
        at = [e for e in rep if abs(e["radius"] - radii[radius_index]) < 1e-12]
        c1_, c2_, c_ = (min(e[k] for e in at) for k in ("c1", "c2", "c"))
        per.append([c1_, c2_, c_, c1_ * c2_] if with_product else [c1_, c2_, c_])
    per = np.array(per)
    return per.mean(0), per.std(0, ddof=1) if len(per) > 1 else np.zeros(per.shape[1])


table, curves = [], {False: [], True: []}
for compat in (False, True):
    net = "paper-compat" if compat else "corrected"
    for k, v0 in enumerate(v0_grid):
        (c1, c2, c, c12), (s1, s2, s, s12) = expansion_stats(compat, k, with_product=True)
        curves[compat].append((radii[k], c1, c2, c))
        table.append({"network": net, "v0": f"{v0:g}", "radius": f"{radii[k]:.3f}", "c1 (X)": f"{c1:.3f} ± {s1:.3f}",
                      "c2 (Y)": f"{c2:.3f} ± {s2:.3f}", "c1 c2": f"{c1 * c2:.3f}", "c (X,Y)": f"{c:.3f} ± {s:.3f}",
                      "c / c1": f"{c / c1:.3f}", "mu, Eq. 13": f"{mu['mu_mm'][k]:.3f}",
                      "mu, Eq. 14": f"{mu['mu_um'][k]:.3f}"})
        for name, val, sd in (("c1", c1, s1), ("c2", c2, s2), ("c1c2", c12, s12)):
            rows.append(result_row("expansion", f"{net} v0={v0:g}", "estimate", name, [float(val)],
                                   std_over_samples=float(sd), radius=radii[k], status="estimate"))
        # an estimate too; beside it, whether the data's c reaches the c1 c2 Lemma 1 promises
        # (by more than the samples' spread: c1c2_minus_c > 2 std counts as short of it)
        rows.append(result_row("expansion", f"{net} v0={v0:g}", "estimate", "c", [float(c)],
                               std_over_samples=float(s), radius=radii[k], c1c2=float(c12),
                               c_short_of_c1c2=bool(c12 - c > 2 * max(s, s12)), status="estimate",
                               headline=v0 == 2.0 and not compat))
for k, v0 in enumerate(v0_grid):
    for key in ("mu_mm", "mu_um"):
        rows.append(result_row("separation_mu", f"v0={v0:g}", "bayes_classifier", key, [mu[key][k]],
                               radius=radii[k], grid_step=mu["step"], status="estimate"))
for compat, e in err_pop.items():
    rows.append(result_row("teacher_population_error", "paper-compat" if compat else "corrected", "um_teacher",
                           "error", [e], n_samples=n_samples * n_repeats, status="estimate"))

# %%
report.table(pd.DataFrame(table), "Expansion on TwoMoon per T1 level (mean ± std over "
             f"{n_repeats} samples of {n_samples:,} points): c1, c2, their product, the 2-D c the MM student's "
             "T meets, and the separation mu of the Bayes classifier that each bound adds")

# %% mystnb={"figure": {"caption": "Expansion and separation against the radius of T1's neighbourhood (corrected network). Left: c1 (along X), c2 (along Y), the product the paper uses and the c the 2-D ball gives; the dotted line is Assumption 1's threshold of 5. Right: mu for the MM student's ball and the UM student's interval; 4 mu is added to each bound.", "name": "fig-theory-expansion"}}
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
r_, c1_, c2_, c_ = map(np.array, zip(*curves[False]))
ax.plot(r_, c1_, "o-", label="$c_1$ (X)")
ax.plot(r_, c2_, "s-", label="$c_2$ (Y)")
ax.plot(r_, c1_ * c2_, "d--", label="$c_1 c_2$ (the paper's)")
ax.plot(r_, c_, "^-", label="$c$ (2-D ball, measured)")
ax.axhline(5, color="gray", ls=":", lw=1)
ax.set_xlabel("radius $r = v_0 \\cdot$ mean$|x|$")
ax.set_ylabel("expansion constant")
ax.legend(fontsize=8)
ax2.plot(radii, mu["mu_mm"], "o-", label="$\\mu$, 2-D ball (Eq. 13)")
ax2.plot(radii, mu["mu_um"], "s-", label="$\\mu$, interval along X (Eq. 14)")
ax2.set_xlabel("radius $r$")
ax2.set_ylabel("$\\mu$")
ax2.set_ylim(0, 1.05)
ax2.legend(fontsize=8)
plots.show(fig)

# %%
featured = "paper-compat" if twomoon_doc["parameters"]["paper_compat"] else "corrected"
feat = featured == "paper-compat"
c1c2_feat = {v0: ck1 * ck2 for v0, (_, ck1, ck2, _) in zip(v0_grid, curves[feat])}
above5 = [v0 for v0, v in c1c2_feat.items() if v > theory_claims.ASSUMPTION1_C1C2]
c_over_c1 = [ck / ck1 for _, ck1, _, ck in curves[False] + curves[True]]
den = [r for r in twomoon_doc["rows"] if r["table"].startswith("denoising") and r["metric"] == "test_acc"
       and r["setting"].startswith("T1") and r["method"] == "mm_student"]
best = max(den, key=lambda r: r["mean"])
glue("c_over_c1_range", f"{min(c_over_c1):.2f} to {max(c_over_c1):.2f}", display=False)
glue("c1c2_above5_from", f"at v0 = {', '.join(f'{v:g}' for v in above5)}" if above5 else "at no level of the grid",
     display=False)
best_v0 = float(best["setting"].split("=")[1])
glue("best_in_range", "a range that includes" if best_v0 in above5 else "a range that does not include",
     display=False)
glue("best_verdict", "the assumption is met where MKE works best" if best_v0 in above5
     else "the assumption is not met where MKE works best", display=False)
glue("featured", featured, display=False)
glue("best_v0", best["setting"].replace("T1 ", ""), display=False)
glue("best_mm_acc", f"{best['mean']:.2f}", display=False)
glue("mu_mm_small", f"{mu['mu_mm'][0]:.3f}", display=False)
glue("mu_mm_v0_1", f"{mu['mu_mm'][v0_grid.index(1.0)]:.2f}", display=False)
glue("bayes_err_mm", f"{100 * mu['bayes_error_mm']:.2f}", display=False)
glue("bayes_err_um", f"{100 * mu['bayes_error_um']:.1f}", display=False)
glue("teacher_err_pop", f"{err_pop[feat]:.3f}", display=False)
glue("teacher_err_test", f"{1 - find_rows(twomoon_doc, table='table1_paper_compat' if feat else 'table1', setting='teacher')[0]['mean'] / 100:.3f}",
     display=False)

# %% [markdown]
# Three things stand out. First, $c$ stays close to $c_1$ (their ratio runs from
# {glue:text}`c_over_c1_range` over both networks and all radii), never near $c_1 c_2$: the
# teacher sees $x^\alpha$ only, so its mistakes form a band $\{x : f_t(x^\alpha) \ne i\}$, a
# product of a set in $\mathcal{X}^\alpha$ with *all* of $\mathcal{X}^\beta$; a set of mass 1
# along Y cannot expand along Y (and a ball of radius $r$ lies inside the band $|\Delta x| \le
# r$, so $c \le c_1$ for any such set). Second, $c_1 c_2$ exceeds Assumption 1's 5
# {glue:text}`c1c2_above5_from` ({glue:text}`featured` network), {glue:text}`best_in_range` the
# MM student's best level ({glue:text}`best_v0`, {glue:text}`best_mm_acc` % in the TwoMoon
# chapter): {glue:text}`best_verdict`. Third, $\mu$ is {glue:text}`mu_mm_small` at the smallest
# radius and {glue:text}`mu_mm_v0_1` at $v_0 = 1$: it grows with the ball, which crosses the true
# boundary for more and more points, and $4\mu$ enters the bound directly. $G^*$ errs on
# {glue:text}`bayes_err_mm` % of the samples in 2-D and on {glue:text}`bayes_err_um` % from
# $x^\alpha$ alone: the teacher's floor. Its measured population error is
# {glue:text}`teacher_err_pop` (against {glue:text}`teacher_err_test` on the 200 test points).
#
# **Assumption 2.** Within a moon, X and Y are dependent by construction (points lie on a half
# circle). HSIC with a permutation test, per class:

# %%
dep = th.conditional_dependence(*draws[0], n=200 if quick else 300, n_permutations=100 if quick else 200)
dep_rows = []
for d in dep:
    verdict = "fails" if d["p_value"] < 0.05 else "holds"
    rows.append(result_row("conditional_independence", f"class {d['class']}", "hsic_permutation", "p_value",
                           [d["p_value"]], status=verdict, hsic=d["hsic"], n=d["n"], pearson=d["corr"]))
    dep_rows.append({"class": d["class"], "HSIC": f"{d['hsic']:.4f}", "permutation p": f"{d['p_value']:.3f}",
                     "n": d["n"], "Pearson r": f"{d['corr']:+.3f}", "conditional independence": verdict})
report.table(pd.DataFrame(dep_rows), "Assumption 2 per class: HSIC between x^alpha and x^beta given the class, "
             "with a permutation test (independence fails at p < 0.05)")

# %% [markdown]
# A correlation near zero would have passed a linear test; HSIC sees the curved dependence, so
# Assumption 2 fails on TwoMoon.
#
# ## Theorem 1 against the measured errors
#
# For every Table 1 setting of both networks we set the bounds beside the errors the TwoMoon
# chapter measured (mean over its seeds): Eq. 14 for the UM student with $c_1$, Eq. 13 for the
# MM student with $c_1 c_2$ (what the paper claims) and with the measured $c$ (what the data
# give), each with the estimated $\mu$. $\mu = 0$ gives the *tightest* bound, the least
# favourable to the theorem: a bound that holds at $\mu = 0$ holds for every $\mu$, but a
# failure at $\mu = 0$ says nothing, so we show it only for reference. A bound is **tested**
# only where it is below 1 and its constant exceeds Assumption 1's 5; otherwise its status is
# *vacuous* or *assumptions unmet*. T2 and T3 perturb hidden units and induce no input-space
# ball; for them we use T1's $v_0 = 1$ radius as a reference, and with no transformation the
# radius is 0, $c = 1$ and the bound is infinite.
#
# The students' errors come from the TwoMoon chapter's 200 test points (the authors' split, with
# the students the paper reports); the teacher's from the fresh population above, as Eq. 13 asks
# of $\mathrm{Err}(f_t)$. A student's population error is within about
# {glue:text}`binomial_se` (at most one binomial standard error on 200 points) of its test error.

# %%
def expansion_at(compat, r):
    if r <= 0:
        return 1.0, 1.0, 1.0
    k = int(np.argmin([abs(r - x) for x in radii]))
    if abs(radii[k] - r) > 1e-9:  # a radius off the grid: estimate it now, min over classes, first sample
        e = th.estimate_expansion(teachers[compat], *draws[0], [r])
        return tuple(min(x[key] for x in e) for key in ("c1", "c2", "c"))
    return tuple(expansion_stats(compat, k)[0])


def mu_at(r):
    """(mu for Eq. 14, mu for Eq. 13) at radius r; 0 with no neighbourhood."""
    if r <= 0:
        return 0.0, 0.0
    k = int(np.argmin([abs(r - x) for x in radii]))
    if abs(radii[k] - r) > 1e-9:
        m = th.estimate_mu(sample, *draws[0], [r], step=0.01)
        return m["mu_um"][0], m["mu_mm"][0]
    return mu["mu_um"][k], mu["mu_mm"][k]


glue("binomial_se", f"{math.sqrt(0.25 / 200):.3f}", display=False)
thm = th.theorem1_table(twomoon_doc, expansion_at, mean_abs, mu_at=mu_at, teacher_error=err_pop)
for t in thm:
    for method, metric, value, status in (("um_student", "eq14_bound", t["eq14_bound_um"], t["eq14_status"]),
                                          ("mm_student", "eq13_bound_c1c2", t["eq13_bound_mm"], t["eq13_status"]),
                                          ("mm_student", "eq13_bound_measured_c", t["eq13_with_measured_c"],
                                           t["eq13_measured_c_status"])):
        rows.append(result_row("theorem1", f"{t['network']} {t['setting']}", method, metric,
                               [value if math.isfinite(value) else 1e9], status=status, infinite=not math.isfinite(value),
                               measured_error=t["um_err" if method == "um_student" else "mm_err"],
                               teacher_error=t["teacher_err"], radius=t["radius"], radius_from=t["radius_from"],
                               mu=t["mu_um" if method == "um_student" else "mu_mm"]))


def fmt(x):
    return "inf" if not math.isfinite(x) else f"{x:.3f}"


# %%
report.table(pd.DataFrame([{"network": t["network"], "setting": t["setting"], "mu (MM)": f"{t['mu_mm']:.3f}",
                            "UM err": f"{t['um_err']:.3f}", "Eq. 14": f"{fmt(t['eq14_bound_um'])}: {t['eq14_status']}",
                            "MM err": f"{t['mm_err']:.3f}",
                            "Eq. 13, c1 c2": f"{fmt(t['eq13_bound_mm'])}: {t['eq13_status']}",
                            "Eq. 13, c1 c2, mu = 0": fmt(t["eq13_bound_mm_mu0"]),
                            "Eq. 13, measured c": f"{fmt(t['eq13_with_measured_c'])}: {t['eq13_measured_c_status']}"}
                           for t in thm]),
             f"Theorem 1 on Table 1's settings: measured test errors of the UM and MM students (mean over the TwoMoon "
             f"chapter's seeds) against Eq. 14 and Eq. 13 with the estimated mu; the teacher's population error is "
             f"{err_pop[False]:.3f} (corrected) and {err_pop[True]:.3f} (paper-compat)")

# %%
status_counts = pd.Series([t[k] for t in thm for k in ("eq14_status", "eq13_status", "eq13_measured_c_status")]
                          ).value_counts()
glue("thm_n_bounds", int(status_counts.sum()), display=False)
glue("thm_n_tested", int(status_counts.get("holds", 0) + status_counts.get("fails", 0)), display=False)
glue("thm_n_vacuous", int(status_counts.get("vacuous", 0)), display=False)
glue("thm_n_unmet", int(status_counts.get("assumptions unmet", 0)), display=False)

# %% [markdown]
# Of the {glue:text}`thm_n_bounds` bounds, {glue:text}`thm_n_tested` are real tests (below 1,
# with their assumption met); {glue:text}`thm_n_vacuous` are vacuous and
# {glue:text}`thm_n_unmet` are evaluated where Assumption 1 does not hold.
#
# Across regularisation strengths (T1, the featured network's finer sweep from the TwoMoon
# chapter): the measured MM error and the versions of Eq. 13. Bounds at or above 1 say nothing
# about a 0-1 error and are drawn at 1.

# %%
err_t = err_pop[feat]
lv, measured, b_c1c2, b_c1c2_mu0, b_c, mus, c12s = [], [], [], [], [], [], []
for r in sorted(den, key=lambda r: float(r["setting"].split("=")[1])):
    v0 = float(r["setting"].split("=")[1])
    c1, c2, c = expansion_at(feat, v0 * mean_abs)
    m = mu_at(v0 * mean_abs)[1]
    lv.append(v0)
    mus.append(m)
    c12s.append(c1 * c2)
    measured.append(1 - r["mean"] / 100)
    b_c1c2.append(min(theorem1_bound(err_t, c1 * c2, m), 1.0))
    b_c1c2_mu0.append(min(theorem1_bound(err_t, c1 * c2), 1.0))
    b_c.append(min(theorem1_bound(err_t, c, m), 1.0))
    errors = 1 - np.array(r["values"]) / 100  # per seed
    claims.append(theory_claims.bound_claim(f"Theorem 1: the MM student's error is below Eq. 13 with c1 c2 and the "
                                            f"estimated mu (TwoMoon, {featured} net, T1 v0={v0:g})", b_c1c2[-1],
                                            errors, c1 * c2, "theorem-1-against-the-measured-errors"))
    for metric, bound, constant in (("eq13_bound_c1c2", b_c1c2[-1], c1 * c2), ("eq13_bound_measured_c", b_c[-1], c)):
        rows.append(result_row("theorem1_sweep", f"{featured} T1 v0={v0:g}", "mm_student", metric, [bound],
                               status=bound_status(bound, measured[-1], constant), measured_error=measured[-1],
                               teacher_error=err_t, mu=m, bound_mu0=b_c1c2_mu0[-1] if metric == "eq13_bound_c1c2" else None,
                               headline=(metric == "eq13_bound_c1c2" and v0 == 2.0)))

# %% mystnb={"figure": {"caption": "Theorem 1 against measurement along the T1 sweep (featured network): the MM student's measured test error, Eq. 13 with the paper's c1 c2 at mu = 0 (the tightest it can be) and with the estimated mu, and Eq. 13 with the measured c and mu. Bounds at or above 1 are drawn at 1.", "name": "fig-theory-sweep"}}
fig, ax = plt.subplots(figsize=(7, 4.2))
ax.plot(lv, measured, "o-", label="MM student, measured test error")
ax.plot(lv, b_c1c2_mu0, "s:", label="Eq. 13, $c_1 c_2$, $\\mu = 0$")
ax.plot(lv, b_c1c2, "s--", label="Eq. 13, $c_1 c_2$, estimated $\\mu$")
ax.plot(lv, b_c, "^--", label="Eq. 13, measured $c$, estimated $\\mu$")
ax.axhline(err_t, color="gray", lw=1, ls=":", label="teacher error (population)")
ax.set_xlabel("T1 level $v_0$")
ax.set_ylabel("error")
ax.set_ylim(0, 1.05)
ax.legend(fontsize=8)
plots.show(fig)

# %%
sweep = pd.DataFrame({"v0": lv, "measured MM error": measured, "mu": mus, "Eq. 13, c1 c2, mu = 0": b_c1c2_mu0,
                      "Eq. 13, c1 c2, mu": b_c1c2, "Eq. 13, c, mu": b_c})
mu0_fail = [v for v, m, b in zip(lv, measured, b_c1c2_mu0) if b < 1 and m > b]
informative = [v for v, b in zip(lv, b_c1c2) if b < 1]
glue("mu0_fail_levels", f"would be violated at v0 = {', '.join(f'{v:g}' for v in mu0_fail)}, where the student's "
     "error rises again as T washes out the data" if mu0_fail else "would hold at every level", display=False)
glue("informative_levels", f"only at v0 = {', '.join(f'{v:g}' for v in informative)}" if informative
     else "at no level of the sweep", display=False)
glue("sweep_err_range", f"{min(measured):.3f} to {max(measured):.3f}", display=False)
# which term keeps each level's bound at or above 1: the expansion term 4 Err / (c1 c2 - 1) or 4 mu
term_exp = {v: theorem1_bound(err_t, c12) for v, c12 in zip(lv, c12s)}
term_mu = {v: 4 * m for v, m in zip(lv, mus)}
by_exp = [v for v in lv if term_exp[v] >= 1]
by_mu = [v for v in lv if term_exp[v] < 1 <= term_mu[v]]
parts = []
if by_exp:
    parts.append(f"at v0 = {', '.join(f'{v:g}' for v in by_exp)} the expansion term alone is at least 1")
if by_mu:
    parts.append(f"at v0 = {', '.join(f'{v:g}' for v in by_mu)} the expansion term is below 1 but 4 mu is not")
glue("why_vacuous", "; ".join(parts) or "no term alone reaches 1", display=False)
sweep_fails = [v for v, m, b in zip(lv, measured, b_c1c2) if b < 1 and m > b]
glue("sweep_contradicted", f"is contradicted at v0 = {', '.join(f'{v:g}' for v in sweep_fails)}" if sweep_fails
     else "is never contradicted", display=False)
report.table(sweep, "Eq. 13 along the T1 sweep (featured network): bounds capped at 1", precision=3)

# %% [markdown]
# Read together: at $\mu = 0$ the paper's bound {glue:text}`mu0_fail_levels`; but $\mu = 0$ is
# not TwoMoon's value. With the estimated $\mu$ the bound is below 1
# {glue:text}`informative_levels`: {glue:text}`why_vacuous`. The measured error (from
# {glue:text}`sweep_err_range` along the sweep) {glue:text}`sweep_contradicted` by the bound; a
# bound at or above 1 cannot be contradicted, and cannot explain the error either.
#
# ## Eq. 17 against Eq. 3: the $\gamma$ that makes them equal, and whether it matters
#
# On trained MM students (corrected network, seed 81, the teacher's hard labels on $D_u$) we
# measure Eq. 17's loss $L_{17} = \frac1M\sum_i l_{cls}(\tilde y_i, \mathcal T(f_s(x_i)))$,
# $L_{pl}$ and $L_{reg}$ (Eq. 4-5, L2 distance), averaged over 200 draws of $\mathcal T$, and
# $\gamma^* = (L_{17} - L_{pl}) / L_{reg}$; per sample and draw, the ratio
# $|l(\tilde y, \mathcal T f) - l(\tilde y, f)| / \|\mathcal T f - f\|$ must stay below the
# Lipschitz constant $\sqrt 2$.

# %%
gamma_rows, gammas = [], {}
for setting in (("T1 v0=1", "T1 v0=2") if quick else ("T1 v0=1", "T1 v0=2", "T2 v1=10", "T3 r0=0.8")):
    g = th.eq17_gamma(task, teachers[False], setting, n_draws=50 if quick else 200, epochs=300 if quick else 2000)
    gammas[setting] = g["gamma"]
    ok = g["max_abs_per_sample_ratio"] <= math.sqrt(2) + 1e-6
    rows.append(result_row("eq17_gamma", setting, "mm_student", "gamma", [g["gamma"]], status=g["status"],
                           L17=g["L17"], L_pl=g["L_pl"], L_reg=g["L_reg"],
                           max_per_sample_ratio=g["max_abs_per_sample_ratio"],
                           per_sample_within_sqrt2="holds" if ok else "fails"))
    gamma_rows.append({"setting": setting, "L17": f"{g['L17']:.4f}", "L_pl": f"{g['L_pl']:.4f}", "L_reg": f"{g['L_reg']:.4f}",
                       "gamma*": f"{g['gamma']:+.4f}", "in [-sqrt K, sqrt K]": g["status"],
                       "max per-sample ratio": f"{g['max_abs_per_sample_ratio']:.3f}",
                       "<= sqrt 2": "holds" if ok else "fails"})
report.table(pd.DataFrame(gamma_rows), "The gamma that makes Eq. 17's loss equal Eq. 3's at one trained MM student "
             "(corrected network, seed 81)")

# %% [markdown]
# That $\gamma^*$ exists at one trained $\theta_s$ does not make the two objectives' minimisers
# equal: $\gamma^*$ depends on $\theta_s$. So we train both: per seed, one MM student with Eq. 17
# and one with Eq. 3 at the $\gamma^*$ just measured, on the same pseudo labels, T, seed and
# epochs; we compare their test accuracies (paired by seed) and count the test points on which
# the two students disagree.

# %%
form_seeds = tm_seeds(3 if quick else 5)
form_rows, form_claims = [], []
for setting in (("T1 v0=2",) if quick else ("T1 v0=1", "T1 v0=2")):
    f = th.eq17_vs_eq3(task, teachers[False], setting, gammas[setting], form_seeds, epochs=300 if quick else 2000)
    diff = np.array(f["acc_eq17"]) - np.array(f["acc_eq3"])
    form_claims.append(paired(f["acc_eq17"], f["acc_eq3"], f"Eq. 17 trains a better MM student than Eq. 3 with "
                              f"gamma* (TwoMoon, corrected net, {setting})", chapter="theory",
                              section="eq-17-against-eq-3-the-gamma-that-makes-them-equal-and-whether-it-matters",
                              bounds=(0.0, 100.0)))
    for form in ("eq17", "eq3"):
        rows.append(result_row("eq17_vs_eq3", setting, f"mm_student_{form}", "test_acc", f[f"acc_{form}"],
                               gamma=f["gamma"], seeds=f["seeds"]))
    rows.append(result_row("eq17_vs_eq3", setting, "mm_student", "disagreement_pct", f["disagreement_pct"],
                           gamma=f["gamma"], seeds=f["seeds"]))
    form_rows.append({"setting": setting, "gamma*": f"{f['gamma']:+.3f}", "Eq. 17 (%)": mean_std(f["acc_eq17"]),
                      "Eq. 3 (%)": mean_std(f["acc_eq3"]), "test points where they disagree (%)":
                      mean_std(f["disagreement_pct"])})
claims += form_claims
glue("form_disagree", f"{np.mean([float(r.split(' ')[0]) for r in pd.DataFrame(form_rows)['test points where they disagree (%)']]):.1f}",
     display=False)
glue("form_verdicts", "; ".join(f"{c['claim'].split('(')[-1].rstrip(')').split(', ')[-1]}: {c['effect']:+.2f} "
                                f"[{c['ci95'][0]:+.2f}, {c['ci95'][1]:+.2f}] points, {c['verdict']}"
                                for c in form_claims), display=False)
display(report.table(pd.DataFrame(form_rows), f"Eq. 17 against Eq. 3 with gamma*: MM students' test accuracy, mean ± "
                     f"std over seeds {form_seeds}, and how often the two disagree"))
claims_frame(form_claims).pipe(report.table, "Eq. 17 against Eq. 3, paired by seed")

# %% [markdown]
# The two objectives train different students: they disagree on {glue:text}`form_disagree` % of
# the test points on average, and their accuracies differ by ({glue:text}`form_verdicts`). The
# paper's equivalence holds for the value of the loss at one $\theta_s$, not for what training
# finds.
#
# ## Which steps of the argument stand

# %%
claims += [theory_claims.exact(f"Eq. 19: the gradient of l_cls is z - y ({r['setting']})", r["status"] == "holds",
                               "eq-18-19-the-gradient-of-l-cls") for r in rows if r["table"] == "eq19"]
claims += [theory_claims.exact(f"Eq. 20: l_cls is sqrt(K)-Lipschitz in p ({r['setting']})", r["status"] == "holds",
                               "eq-20-the-lipschitz-constant") for r in rows if r["table"] == "eq20"]
claims += [theory_claims.exact(f"Lemma 1 holds on every instance searched, "
                               f"{'product sets' if r['metric'] == 'product_sets_pct' else 'all sets'} "
                               f"({r['setting']})", r["status"] == "holds", "lemma-1-exhaustively",
                               note=f"{r['mean']:.2f} % of instances satisfy it")
           for r in rows if r["table"] == "lemma1_exhaustive" and r["metric"].endswith("_pct")]


def verdicts_of(table, setting_filter=lambda s: True):
    got = pd.Series([r["status"] for r in rows if r["table"] == table and setting_filter(r["setting"])]).value_counts()
    return ", ".join(f"{n} {k}" for k, n in got.items())


c_rows = [r for r in rows if r["table"] == "expansion" and r["metric"] == "c"]
steps = [
    {"step": "Eq. 18-19: the gradient of l_cls is z - y", "data": "symbolic, K = 2..6",
     "outcome": verdicts_of("eq19")},
    {"step": "Eq. 20: l_cls is sqrt(K)-Lipschitz", "data": "symbolic + sampling, K = 2..6",
     "outcome": verdicts_of("eq20") + " (tight constant sqrt 2)"},
    {"step": "Eq. 17 equals Eq. 3 for some |gamma| <= sqrt K", "data": "TwoMoon, trained students",
     "outcome": verdicts_of("eq17_gamma") + " at one theta; trained with gamma*, the two forms' students: "
                + "; ".join(f"{c['effect']:+.2f} points, {c['verdict']}" for c in form_claims)},
    {"step": "Lemma 1: c1 c2 expansion on X", "data": "exhaustive, small discrete spaces",
     "outcome": "; ".join(f"{'product' if r['metric'].startswith('product') else 'all'} sets, "
                          f"{r['setting'].replace('dependence=', 'dependence ')}: {r['status']}"
                          for r in rows if r["table"] == "lemma1_exhaustive" and r["metric"].endswith("_pct"))},
    {"step": "Lemma 1 on data: c >= c1 c2", "data": "TwoMoon, teacher mistakes",
     "outcome": f"c falls short of c1 c2 at {sum(r['c_short_of_c1c2'] for r in c_rows)} of {len(c_rows)} "
                "(network, radius) settings"},
    {"step": "Assumption 1: c1 c2 > 5", "data": "TwoMoon",
     "outcome": f"met at v0 = {', '.join(f'{v:g}' for v in above5)} ({featured} network)" if above5
                else "never met"},
    {"step": "Assumption 2: conditional independence", "data": "TwoMoon, HSIC",
     "outcome": verdicts_of("conditional_independence")},
    {"step": "Theorem 1 (Eq. 13-14) with the estimated mu", "data": "TwoMoon, Table 1 settings and T1 sweep",
     "outcome": verdicts_of("theorem1") + "; sweep: " + verdicts_of("theorem1_sweep")},
]
report.table(pd.DataFrame(steps), "The paper's argument step by step: what this chapter found, and on which data")

# %% [markdown]
# The table is this chapter's answer. The calculus of Eq. 18-20 is checked exactly; Lemma 1 is
# checked exhaustively, with and without conditional independence (Assumption 2), which the HSIC
# test judges on TwoMoon; the other rows are measured on TwoMoon. Where Theorem 1 is vacuous at
# every level the MM student was trained at, the theory, with the constants this data set has,
# does not explain the knowledge expansion the TwoMoon chapter measured.
#
# ## Results file and verdicts

# %%
path = write_results("theory", THEORY_PARAMETERS.record(globals(), v0_grid=list(v0_grid)), rows, results_dir, "cpu",
                     claims=claims, extra={"table_titles": THEORY_TABLE_TITLES})
print(f"wrote {len(rows)} rows to {path}")

# %%
verdicts = pd.DataFrame(rows).groupby(["table", "status"]).size().unstack(fill_value=0)
report.table(verdicts, "Status of every result row, by table (estimates carry no verdict)", index=True)

# %%
report.table(claims_frame(claims), "The theory chapter's claims: paired or one-sample tests where the claim is "
             "statistical, exact checks otherwise")
