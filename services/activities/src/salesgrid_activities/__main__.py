"""`python -m salesgrid_activities serve|migrate`."""

import sys

from salesgrid_common.cli import run_service_cli
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.settings import ActivitiesSettings

if __name__ == "__main__":
    sys.exit(run_service_cli(DEFINITION, MIGRATIONS, settings_cls=ActivitiesSettings))
