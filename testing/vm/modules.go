package vm

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is a kernel module file.
type Module struct {
	Name    string
	Path    string
	Depends []string
}

// modName normalises a module name as the kernel does ('-' is '_').
func modName(file string) string {
	n := filepath.Base(file)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		n = strings.TrimSuffix(n, ext)
	}
	return strings.ReplaceAll(strings.TrimSuffix(n, ".ko"), "-", "_")
}

// moduleIndex maps module names to their files under the kernel's module
// tree.
func (k *Kernel) moduleIndex() (map[string]string, error) {
	idx := map[string]string{}
	dir := filepath.Join(k.Root, "lib", "modules", k.Version, "kernel")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), ".ko") {
			idx[modName(p)] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vm: index modules: %w", err)
	}
	return idx, nil
}

// moduleBytes returns a module's ELF image, decompressing .ko.xz with xz.
func moduleBytes(ctx context.Context, path string) ([]byte, error) {
	if !strings.HasSuffix(path, ".xz") {
		return os.ReadFile(path)
	}
	out, err := exec.CommandContext(ctx, "xz", "-dc", path).Output()
	if err != nil {
		return nil, fmt.Errorf("xz -dc %s: %w", path, err)
	}
	return out, nil
}

// Depends reads depends= from a module's .modinfo section.
func Depends(image []byte) ([]string, error) {
	f, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		return nil, err
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			var deps []string
			for _, d := range strings.Split(string(v), ",") {
				deps = append(deps, modName(d))
			}
			return deps, nil
		}
	}
	return nil, nil
}

// Modules returns the named modules and everything they depend on, in an
// order insmod accepts: dependencies first, otherwise as asked.
func (k *Kernel) Modules(ctx context.Context, names []string) ([]Module, error) {
	idx, err := k.moduleIndex()
	if err != nil {
		return nil, err
	}
	var out []Module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name, from string) error
	visit = func(name, from string) error {
		name = modName(name)
		switch state[name] {
		case 1:
			return fmt.Errorf("vm: module dependency cycle at %s", name)
		case 2:
			return nil
		}
		p, ok := idx[name]
		if !ok {
			return fmt.Errorf("vm: module %s (needed by %s) is not in %s", name, from, k.Version)
		}
		state[name] = 1
		img, err := moduleBytes(ctx, p)
		if err != nil {
			return fmt.Errorf("vm: %w", err)
		}
		deps, err := Depends(img)
		if err != nil {
			return fmt.Errorf("vm: %s: %w", p, err)
		}
		for _, d := range deps {
			if err := visit(d, name); err != nil {
				return err
			}
		}
		state[name] = 2
		out = append(out, Module{Name: name, Path: p, Depends: deps})
		return nil
	}
	for _, n := range names {
		if err := visit(n, "the caller"); err != nil {
			return nil, err
		}
	}
	return out, nil
}
