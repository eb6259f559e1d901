"""Run the Home page, then Explore (built-in synthetic set), in this fresh interpreter and print
as JSON whether each left TensorFlow imported: ``python pages/bench/tensorflow_probe.py APP_FILE``."""
import json
import sys

from streamlit.testing.v1 import AppTest

app = AppTest.from_file(sys.argv[1], default_timeout=600)
app.run()
seen = {"home": "tensorflow" in sys.modules, "errors": len(app.exception)}
app.switch_page("pages/explore.py").run()
seen.update(explore="tensorflow" in sys.modules, errors=seen["errors"] + len(app.exception))
print(json.dumps(seen))
