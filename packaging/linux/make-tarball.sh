#!/usr/bin/env bash
# Builds a portable Linux tarball: skiplane-<version>-linux-<arch>.tar.gz with the binary, the same
# desktop entry and icons as the .deb, the sample photos, and install.sh, which registers the app
# for the current user (no root): a desktop entry whose Exec points at the unpacked binary, and the
# icons under ~/.local/share/icons.
#
#   bash packaging/linux/make-tarball.sh                 # cargo build --release first, then pack
#   bash packaging/linux/make-tarball.sh BINARY OUT_DIR  # pack a binary built elsewhere
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)"
arch="$(uname -m)"
binary="${1:-}"
out_dir="${2:-$repo/target}"
if [ -z "$binary" ]; then
  (cd "$repo" && cargo build --release)
  binary="$repo/target/release/skiplane"
fi
[ -x "$binary" ] || { echo "make-tarball: $binary is not an executable" >&2; exit 1; }

name="skiplane-$version-linux-$arch"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin" "$root/share/applications" "$root/share/skiplane/datasets"
install -m 755 "$binary" "$root/bin/skiplane"
install -m 644 "$repo/packaging/linux/skiplane.desktop" "$root/share/applications/"
for icon in "$repo"/packaging/linux/icons/*/skiplane.png; do
  size="$(basename "$(dirname "$icon")")"
  install -D -m 644 "$icon" "$root/share/icons/hicolor/$size/apps/skiplane.png"
done
# The binary finds its sample photos at <bin>/../share/skiplane/datasets/gcompris4, as in the .deb.
cp -r "$repo/datasets/gcompris4" "$root/share/skiplane/datasets/"
install -m 644 "$repo/README.md" "$root/"
cat > "$root/install.sh" <<'INSTALL'
#!/usr/bin/env bash
# Registers this unpacked Skiplane for the current user: its desktop entry (Exec = this folder's
# bin/skiplane) and its icons. Move the folder first if you want it elsewhere; run again after.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$data/applications"
# Exec as the desktop entry spec wants a quoted path: ", `, $ and \ escaped inside the quotes, %
# doubled, and every backslash escaped once more for the string value.
exec_path="$here/bin/skiplane"
exec_path="${exec_path//\\/\\\\\\\\}"
exec_path="${exec_path//\"/\\\\\"}"
exec_path="${exec_path//\`/\\\\\`}"
exec_path="${exec_path//\$/\\\\\$}"
exec_path="${exec_path//%/%%}"
while IFS= read -r line; do
  if [ "$line" = "Exec=skiplane" ]; then
    printf 'Exec="%s"\n' "$exec_path"
  else
    printf '%s\n' "$line"
  fi
done < "$here/share/applications/skiplane.desktop" > "$data/applications/skiplane.desktop"
for icon in "$here"/share/icons/hicolor/*/apps/skiplane.png; do
  size="$(basename "$(dirname "$(dirname "$icon")")")"
  install -D -m 644 "$icon" "$data/icons/hicolor/$size/apps/skiplane.png"
done
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "Skiplane is in your applications menu (desktop entry: $data/applications/skiplane.desktop)"
INSTALL
chmod 755 "$root/install.sh"
mkdir -p "$out_dir"
tar -C "$stage" -czf "$out_dir/$name.tar.gz.part" "$name"
mv "$out_dir/$name.tar.gz.part" "$out_dir/$name.tar.gz"
echo "$out_dir/$name.tar.gz"
