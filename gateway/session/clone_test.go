package session

import (
	"reflect"
	"testing"
	"time"
)

// TestCloneSharesNothing fills every field of a State (by reflection, so a
// field added later is covered too), clones it, and checks that the copy is
// equal and that no map, slice or pointer in it is shared with the
// original: a cached session must never be changed through a request's copy.
func TestCloneSharesNothing(t *testing.T) {
	var s State
	fill(reflect.ValueOf(&s).Elem())
	s.MetaData = map[string]any{"a": map[string]any{"b": []any{"c", 1.0}}}
	c := s.Clone()
	if !reflect.DeepEqual(&s, c) {
		t.Fatalf("clone differs:\n%+v\n%+v", s, *c)
	}
	noSharing(t, "State", reflect.ValueOf(s), reflect.ValueOf(*c))

	var empty State
	if got := empty.Clone(); !reflect.DeepEqual(&empty, got) {
		t.Fatalf("clone of the zero State differs: %+v", *got)
	}
}

// fill sets every exported field to a non-zero value, one element per map
// and slice.
func fill(v reflect.Value) {
	if v.Type() == reflect.TypeOf(time.Time{}) {
		v.Set(reflect.ValueOf(time.Unix(1700000000, 0).UTC()))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.Interface:
		v.Set(reflect.ValueOf("x"))
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(1)
	case reflect.Float64:
		v.SetFloat(1)
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

// noSharing walks a and b in step and fails where both hold the same
// map, slice backing array or pointer.
func noSharing(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	if a.Type() == reflect.TypeOf(time.Time{}) {
		return
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if a.Type().Field(i).IsExported() {
				noSharing(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
			}
		}
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if a.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared between the original and the clone", path)
			return
		}
		switch a.Kind() {
		case reflect.Pointer:
			noSharing(t, path, a.Elem(), b.Elem())
		case reflect.Slice:
			for i := 0; i < a.Len(); i++ {
				noSharing(t, path+"[]", a.Index(i), b.Index(i))
			}
		case reflect.Map:
			for _, k := range a.MapKeys() {
				noSharing(t, path+"[k]", a.MapIndex(k), b.MapIndex(k))
			}
		}
	case reflect.Interface:
		if !a.IsNil() {
			noSharing(t, path, a.Elem(), b.Elem())
		}
	}
}
