"""Where the app is and the size of the tests' quarter-size pages: for test modules, which cannot
import ``conftest`` by name (pytest loads several conftest modules under that one name)."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_FILE = REPO_ROOT / "streamlit_app.py"
TINY_PAGE = (553, 393)  # quarter-size pages: every step of the pipeline, a fraction of the pixels
