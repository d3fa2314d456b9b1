# Thin wrapper over ./dev (which also works where make is not installed).
.PHONY: setup test lint bench demo
setup: ; ./dev setup
test: ; ./dev test
lint: ; ./dev lint
bench: ; ./dev bench
demo: ; ./dev demo
