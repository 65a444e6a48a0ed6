"""Roles and what each may do: one enum, so permission checks read as sentences."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    WORKER = "worker"
    REVIEWER = "reviewer"
    COMMISSIONER = "commissioner"
    PRESENTER = "presenter"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    def can_read_stories(self) -> bool:
        """Read the working copy of their own organisation's stories."""
        return self in (Role.WORKER, Role.REVIEWER)

    def can_record_stories(self) -> bool:
        return self in (Role.WORKER, Role.REVIEWER)

    def can_approve_stories(self) -> bool:
        return self is Role.REVIEWER

    def can_manage_interventions(self) -> bool:
        return self in (Role.WORKER, Role.REVIEWER, Role.ADMIN)

    def can_view_commissioners_file(self) -> bool:
        return self in (Role.COMMISSIONER, Role.ADMIN)

    def can_run_sql(self) -> bool:
        """Arbitrary SQL in Datasette, on published files only."""
        return self is Role.ADMIN

    def can_inspect_datasette(self) -> bool:
        """Datasette's pages about itself: versions, plugins, settings, the files' paths."""
        return self is Role.ADMIN

    def can_publish(self) -> bool:
        return self in (Role.REVIEWER, Role.ADMIN)

    def can_manage_users(self) -> bool:
        return self is Role.ADMIN

    def can_build_case_studies(self) -> bool:
        """Board case studies, from their organisation's stories whose consent includes the board."""
        return self is Role.PRESENTER

    def can_export_stories(self) -> bool:
        """Take a copy out of Storybank (a story's CSV, a board case study, the evaluation project), entered in the register."""
        return self.can_read_stories() or self.can_build_case_studies() or self.can_export_evaluation_project()

    def can_export_evaluation_project(self) -> bool:
        """The commissioners' evidence as a REFI-QDA project for an independent evaluator: what their file holds."""
        return self.can_view_commissioners_file()

    def can_view_dashboard(self) -> bool:
        """The evidence dashboard, drawn from what is published for commissioners."""
        return self in (Role.COMMISSIONER, Role.REVIEWER, Role.ADMIN)

    def can_run_msc_rounds(self) -> bool:
        """Most Significant Change selection panels."""
        return self is Role.REVIEWER
