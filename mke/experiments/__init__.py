"""Chapter experiments: what each chapter computes, so that chapters stay prose plus calls."""
