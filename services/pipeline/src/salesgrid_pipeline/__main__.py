"""`python -m salesgrid_pipeline serve|migrate`."""

import sys

from salesgrid_common.cli import run_service_cli
from salesgrid_pipeline.app import DEFINITION, MIGRATIONS
from salesgrid_pipeline.settings import PipelineSettings

if __name__ == "__main__":
    sys.exit(run_service_cli(DEFINITION, MIGRATIONS, settings_cls=PipelineSettings))
