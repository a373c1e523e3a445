"""The published language the components share: standard library only, imported by components
and pages alike, while no component imports another (docs/design.md, "Layout")."""
