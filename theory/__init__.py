"""Theory: SymPy checks of the paper's algebra, an exhaustive check of Lemma 1 on small
discrete spaces, and estimators of the expansion constants and of conditional dependence."""
