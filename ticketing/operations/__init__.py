"""Use cases: the only functions that change state; web, mail intake, CLI and jobs call them."""
