package chainstate

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// backupChain is a store with a few blocks, and its chain.
func backupChain(t *testing.T, blocks int) (*Store, string, *chain) {
	t.Helper()
	p := testParams(map[Address]uint64{addrOf(testKey(1)): 1000})
	s, path := openTestStore(t, p, true)
	c := newChain(p)
	for i := 0; i < blocks; i++ {
		if _, err := s.Connect(c.add(t, testKey(9))); err != nil {
			t.Fatal(err)
		}
	}
	return s, path, c
}

// TestBackupWhileWriting copies the live store while another goroutine connects blocks: every
// copy passes Check (pages, chain, genesis), holds the tip it announced, and the writes went on.
func TestBackupWhileWriting(t *testing.T) {
	s, _, c := backupChain(t, 3)
	const more = 40
	blocks := make([]*Block, more)
	for i := range blocks {
		blocks[i] = c.add(t, testKey(9))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var connectErr error
	go func() {
		defer wg.Done()
		for _, b := range blocks {
			if _, err := s.Connect(b); err != nil {
				connectErr = err
				return
			}
		}
	}()
	dir := t.TempDir()
	var heights []uint64
	for i := 0; i < 5; i++ {
		dst := filepath.Join(dir, "copy"+string(rune('a'+i))+".db")
		var announced BackupInfo
		info, err := SaveBackup(dst, s.Params(), false, true, testTimeout, func(w io.Writer) (BackupInfo, error) {
			return s.Backup(w, func(bi BackupInfo) error { announced = bi; return nil })
		})
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		if info != announced || info.GenesisHash != s.GenesisHash() {
			t.Fatalf("backup %d: returned %+v, announced %+v", i, info, announced)
		}
		got, err := ReadBackupInfo(dst, testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if got.Height != info.Height || got.TipHash != info.TipHash || got.Bytes != info.Bytes {
			t.Fatalf("backup %d: the file says %+v, the backup announced %+v", i, got, info)
		}
		heights = append(heights, info.Height)
	}
	wg.Wait()
	if connectErr != nil {
		t.Fatal(connectErr)
	}
	tip, err := s.Tip()
	if err != nil || tip.Header.Height != 3+more {
		t.Fatalf("tip %d (%v), want %d: the writes did not go on", tip.Header.Height, err, 3+more)
	}
	t.Logf("copies at heights %v while blocks 4..%d were connected", heights, 3+more)
}

// TestBackupBeginError: an error from begin ends the backup before anything is written.
func TestBackupBeginError(t *testing.T) {
	s, _, _ := backupChain(t, 1)
	var buf bytes.Buffer
	stop := errors.New("no thanks")
	if _, err := s.Backup(&buf, func(BackupInfo) error { return stop }); !errors.Is(err, stop) || buf.Len() != 0 {
		t.Fatalf("err %v, %d bytes written", err, buf.Len())
	}
}

// TestBackupFileOffline: a stopped store is copied by opening it read-only; one in use is
// ErrInUse; another chain's params are refused.
func TestBackupFileOffline(t *testing.T) {
	s, path, _ := backupChain(t, 2)
	p := s.Params()
	var buf bytes.Buffer
	if _, err := BackupFile(path, p, 200*time.Millisecond, &buf, nil); !errors.Is(err, ErrInUse) {
		t.Fatalf("backup of a store in use: %v, want ErrInUse", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "offline.db")
	info, err := SaveBackup(dst, p, false, true, testTimeout, func(w io.Writer) (BackupInfo, error) {
		return BackupFile(path, p, testTimeout, w, nil)
	})
	if err != nil || info.Height != 2 {
		t.Fatalf("offline backup: %+v, %v", info, err)
	}
	other := *p
	other.ChainID = "another-chain"
	if _, err := BackupFile(path, &other, testTimeout, io.Discard, nil); !errors.Is(err, ErrWrongChain) {
		t.Fatalf("backup against another chain: %v, want ErrWrongChain", err)
	}
	if _, err := BackupFile(filepath.Join(t.TempDir(), "none.db"), p, testTimeout, io.Discard, nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("backup of a missing file: %v", err)
	}
}

// TestSaveBackupSafety: an existing file is kept without force; a failed or short copy leaves
// nothing behind; a copy that does not check is not renamed into place.
func TestSaveBackupSafety(t *testing.T) {
	s, _, _ := backupChain(t, 2)
	p := s.Params()
	dir := t.TempDir()
	dst := filepath.Join(dir, "b.db")
	if err := os.WriteFile(dst, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	live := func(w io.Writer) (BackupInfo, error) { return s.Backup(w, nil) }
	if _, err := SaveBackup(dst, p, false, true, testTimeout, live); !errors.Is(err, ErrExists) {
		t.Fatalf("existing file: %v, want ErrExists", err)
	}
	boom := errors.New("disk full")
	if _, err := SaveBackup(filepath.Join(dir, "c.db"), p, false, true, testTimeout, func(w io.Writer) (BackupInfo, error) {
		_, _ = w.Write([]byte("partial"))
		return BackupInfo{Bytes: 4096}, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failed copy: %v", err)
	}
	short := func(w io.Writer) (BackupInfo, error) {
		info, err := s.Backup(io.Discard, nil)
		_, _ = w.Write(make([]byte, 100))
		return info, err
	}
	if _, err := SaveBackup(filepath.Join(dir, "d.db"), p, false, true, testTimeout, short); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("short copy: %v", err)
	}
	// A full-size copy with its pages overwritten: Check refuses it.
	corrupt := func(w io.Writer) (BackupInfo, error) {
		var buf bytes.Buffer
		info, err := s.Backup(&buf, nil)
		b := buf.Bytes()
		copy(b[2*4096:], fill(7, len(b)-2*4096)) // every page but the two meta pages
		_, _ = w.Write(b)
		return info, err
	}
	if _, err := SaveBackup(filepath.Join(dir, "e.db"), p, false, true, testTimeout, corrupt); err == nil {
		t.Fatal("a damaged copy was saved")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "b.db" {
		t.Fatalf("left behind: %v", ents)
	}
	if b, _ := os.ReadFile(dst); string(b) != "keep me" {
		t.Fatal("the existing file was changed")
	}
	if _, err := SaveBackup(dst, p, true, true, testTimeout, live); err != nil {
		t.Fatalf("with force: %v", err)
	}
	if info, err := ReadBackupInfo(dst, testTimeout); err != nil || info.Height != 2 {
		t.Fatalf("forced copy: %+v %v", info, err)
	}
}

// restoreFixture: a backup at height 3 of chain p, and a home whose database is at height 1.
func restoreFixture(t *testing.T) (p *Params, backup, dbPath string) {
	t.Helper()
	s, _, _ := backupChain(t, 3)
	p = s.Params()
	backup = filepath.Join(t.TempDir(), "backup.db")
	if _, err := SaveBackup(backup, p, false, true, testTimeout, func(w io.Writer) (BackupInfo, error) { return s.Backup(w, nil) }); err != nil {
		t.Fatal(err)
	}
	dbPath = filepath.Join(t.TempDir(), "data", "chain.db")
	other, err := Open(dbPath, p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c := newChain(p)
	if _, err := other.Connect(c.add(t, testKey(5))); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	return p, backup, dbPath
}

func TestRestore(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	t.Run("into an empty home", func(t *testing.T) {
		p, backup, _ := restoreFixture(t)
		dst := filepath.Join(t.TempDir(), "data", "chain.db")
		rep, err := Restore(backup, dst, p, testTimeout, false, now)
		if err != nil || rep.Height != 3 || rep.MovedAside != "" || rep.GenesisHash != p.GenesisHash().String() {
			t.Fatalf("restore: %+v, %v", rep, err)
		}
		if _, err := Verify(dst, p, testTimeout); err != nil {
			t.Fatalf("restored database: %v", err)
		}
	})
	t.Run("over a database needs force and keeps the old one", func(t *testing.T) {
		p, backup, dst := restoreFixture(t)
		before, _ := os.ReadFile(dst)
		if _, err := Restore(backup, dst, p, testTimeout, false, now); !errors.Is(err, ErrExists) {
			t.Fatalf("without force: %v, want ErrExists", err)
		}
		if after, _ := os.ReadFile(dst); !bytes.Equal(before, after) {
			t.Fatal("the database changed")
		}
		rep, err := Restore(backup, dst, p, testTimeout, true, now)
		if err != nil || rep.Height != 3 {
			t.Fatalf("with force: %+v, %v", rep, err)
		}
		if rep.MovedAside != dst+".before-restore-1800000000" {
			t.Fatalf("moved aside to %q", rep.MovedAside)
		}
		if old, _ := os.ReadFile(rep.MovedAside); !bytes.Equal(old, before) {
			t.Fatal("the replaced database was not kept as it was")
		}
		if info, err := ReadBackupInfo(dst, testTimeout); err != nil || info.Height != 3 {
			t.Fatalf("restored: %+v %v", info, err)
		}
		assertNoTemp(t, filepath.Dir(dst))
	})
	t.Run("refused while a node holds the database", func(t *testing.T) {
		p, backup, dst := restoreFixture(t)
		s, err := Open(dst, p, testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = Restore(backup, dst, p, 200*time.Millisecond, true, now)
		if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "stop the node") {
			t.Fatalf("restore under a running node: %v", err)
		}
		if tip, err := s.Tip(); err != nil || tip.Header.Height != 1 {
			t.Fatalf("the running store changed: %d %v", tip.Header.Height, err)
		}
		assertNoTemp(t, filepath.Dir(dst))
	})
	t.Run("refuses another chain", func(t *testing.T) {
		p, backup, dst := restoreFixture(t)
		other := *p
		other.ChainID = "someone-else"
		before, _ := os.ReadFile(dst)
		_, err := Restore(backup, dst, &other, testTimeout, true, now)
		if !errors.Is(err, ErrWrongChain) || !strings.Contains(err.Error(), p.GenesisHash().String()) ||
			!strings.Contains(err.Error(), other.GenesisHash().String()) || !strings.Contains(err.Error(), backup) {
			t.Fatalf("another chain: %v", err)
		}
		if after, _ := os.ReadFile(dst); !bytes.Equal(before, after) {
			t.Fatal("the database changed")
		}
		assertNoTemp(t, filepath.Dir(dst))
	})
	t.Run("refuses a damaged backup", func(t *testing.T) {
		p, backup, dst := restoreFixture(t)
		b, _ := os.ReadFile(backup)
		if err := os.WriteFile(backup, b[:len(b)/2], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Restore(backup, dst, p, testTimeout, true, now); err == nil {
			t.Fatal("a truncated backup was restored")
		}
		if err := os.WriteFile(backup, []byte("not a database"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Restore(backup, dst, p, testTimeout, true, now); err == nil {
			t.Fatal("a file that is not a database was restored")
		}
		if _, err := Verify(dst, p, testTimeout); err != nil {
			t.Fatalf("the database is no longer intact: %v", err)
		}
		assertNoTemp(t, filepath.Dir(dst))
	})
	t.Run("refuses the database itself and a missing file", func(t *testing.T) {
		p, _, dst := restoreFixture(t)
		if _, err := Restore(dst, dst, p, testTimeout, true, now); err == nil {
			t.Fatal("restored the database onto itself")
		}
		if _, err := Restore(filepath.Join(t.TempDir(), "none"), dst, p, testTimeout, true, now); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("missing backup: %v", err)
		}
	})
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".restore-") || strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary file left in %s: %s", dir, e.Name())
		}
	}
}

// TestRestoreNeverLosesADatabase is a property test over restore scenarios: the home has no
// database, a good one or a damaged one, held by a node or not; the backup is good, of another
// chain, truncated or not a database; force or not. Whatever happens, either the restore
// succeeded, the database is byte for byte the backup and a replaced database is kept aside byte
// for byte, or it failed and the home is exactly as it was; no temporary file is left, and the
// backup is never changed.
func TestRestoreNeverLosesADatabase(t *testing.T) {
	p, good, home := restoreFixture(t)
	goodBytes, _ := os.ReadFile(good)
	homeBytes, _ := os.ReadFile(home)
	otherP := *p
	otherP.ChainID = "other"
	foreign := filepath.Join(t.TempDir(), "foreign.db")
	if _, err := SaveBackup(foreign, &otherP, false, true, testTimeout, func(w io.Writer) (BackupInfo, error) {
		s, err := Open(filepath.Join(t.TempDir(), "o.db"), &otherP, testTimeout)
		if err != nil {
			return BackupInfo{}, err
		}
		defer s.Close()
		return s.Backup(w, nil)
	}); err != nil {
		t.Fatal(err)
	}
	foreignBytes, _ := os.ReadFile(foreign)
	backups := map[string][]byte{
		"good": goodBytes, "foreign": foreignBytes, "truncated": goodBytes[:len(goodBytes)/2], "text": []byte("hello"),
	}
	homes := map[string][]byte{"none": nil, "good": homeBytes, "damaged": append([]byte{}, homeBytes[:len(homeBytes)/3]...)}
	names := func(m map[string][]byte) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	rapid.Check(t, func(rt *rapid.T) {
		bk := rapid.SampledFrom(names(backups)).Draw(rt, "backup")
		hm := rapid.SampledFrom(names(homes)).Draw(rt, "home")
		force := rapid.Bool().Draw(rt, "force")
		held := hm != "none" && rapid.Bool().Draw(rt, "held")
		dir, err := os.MkdirTemp(t.TempDir(), "case")
		if err != nil {
			rt.Fatal(err)
		}
		src, dst := filepath.Join(dir, "backup.db"), filepath.Join(dir, "data", "chain.db")
		_ = os.MkdirAll(filepath.Dir(dst), 0o700)
		_ = os.WriteFile(src, backups[bk], 0o600)
		if hm != "none" {
			_ = os.WriteFile(dst, homes[hm], 0o600)
		}
		if held {
			f, err := os.Open(dst)
			if err != nil {
				rt.Fatal(err)
			}
			defer f.Close()
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
				rt.Fatal(err)
			}
		}
		rep, err := Restore(src, dst, p, 100*time.Millisecond, force, time.Unix(1_900_000_000, 0))
		got, _ := os.ReadFile(dst)
		wantOK := bk == "good" && !held && (hm == "none" || force)
		switch {
		case wantOK && err != nil:
			rt.Fatalf("restore failed: %v", err)
		case !wantOK && err == nil:
			rt.Fatalf("restore succeeded: %+v", rep)
		case err == nil:
			if !bytes.Equal(got, backups[bk]) {
				rt.Fatal("the database is not the backup")
			}
			if hm != "none" {
				aside, _ := os.ReadFile(rep.MovedAside)
				if !bytes.Equal(aside, homes[hm]) {
					rt.Fatal("the replaced database was not kept byte for byte")
				}
			}
		default:
			if hm == "none" && got != nil || hm != "none" && !bytes.Equal(got, homes[hm]) {
				rt.Fatalf("a failed restore (%v) changed the home", err)
			}
		}
		if b, _ := os.ReadFile(src); !bytes.Equal(b, backups[bk]) {
			rt.Fatal("the backup changed")
		}
		ents, _ := os.ReadDir(filepath.Dir(dst))
		for _, e := range ents {
			if strings.Contains(e.Name(), ".restore-") {
				rt.Fatalf("temporary file left: %s", e.Name())
			}
		}
	})
}
