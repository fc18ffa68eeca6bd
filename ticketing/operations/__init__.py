"""Use cases: the only functions that change state. Web views, mail intake, CLI and jobs call them."""
