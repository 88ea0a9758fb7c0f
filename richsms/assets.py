"""Where the front-end assets are: the top-level `static/` folder (CSS and JS for blocks and
the UI, vendored libraries). It sits next to the packages in a checkout, and the wheel installs
it next to them too (pyproject.toml), so it is found from this file, never from the working
directory: an installed richsms serves the same files as a checkout.
"""

from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "static"
