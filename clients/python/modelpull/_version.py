# The version is single-sourced from the Swift constant ServerConfiguration.serverVersion
# (Sources/ModelPullRPC/Server/ServerConfiguration.swift); scripts/package.sh stamps it here in
# the wheel. A source checkout says so instead of guessing.
__version__ = "0+source"
