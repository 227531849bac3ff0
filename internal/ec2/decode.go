package ec2

import (
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// decodeForm fills the struct pointed to by dst from an EC2 query form.
//
// A field's parameter name is its `ec2` tag, else its Go name. Lists are
// flattened the EC2 way (Name.1, Name.2, ...; lists of structures as
// Name.1.Member), nested structures as Name.Member. Optional scalars are
// pointers so that handlers can tell "absent" from "zero". Parameters that
// name no field are ignored, as the SDKs only send modelled ones.
func decodeForm(form url.Values, dst any) error {
	v := reflect.ValueOf(dst).Elem()
	return decodeStruct(form, "", v)
}

type fieldInfo struct {
	index int
	name  string
}

var fieldCache sync.Map // reflect.Type -> []fieldInfo

func fieldsOf(t reflect.Type) []fieldInfo {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]fieldInfo)
	}
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Tag.Get("ec2")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, fieldInfo{index: i, name: name})
	}
	fieldCache.Store(t, out)
	return out
}

func decodeStruct(form url.Values, prefix string, v reflect.Value) error {
	for _, f := range fieldsOf(v.Type()) {
		if err := decodeValue(form, prefix+f.name, v.Field(f.index)); err != nil {
			return err
		}
	}
	return nil
}

// hasPrefix reports whether any parameter is name itself or lies under it.
func hasPrefix(form url.Values, name string) bool {
	if _, ok := form[name]; ok {
		return true
	}
	p := name + "."
	for k := range form {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func decodeValue(form url.Values, name string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct {
			if !hasPrefix(form, name) {
				return nil
			}
		} else if _, ok := form[name]; !ok {
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := decodeValue(form, name, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		return decodeStruct(form, name+".", v)
	case reflect.Slice:
		return decodeList(form, name, v)
	}
	vals, ok := form[name]
	if !ok || len(vals) == 0 {
		return nil
	}
	return setScalar(name, vals[0], v)
}

func setScalar(name, s string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return errInvalidParam("Invalid value '%s' for %s. Expected a boolean.", s, name)
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return errInvalidParam("Invalid value '%s' for %s. Expected an integer.", s, name)
		}
		v.SetInt(n)
	default:
		panic("ec2: cannot decode into " + v.Type().String())
	}
	return nil
}

// decodeList collects Name.N entries in index order; N must be a positive
// integer. Gaps are allowed, as AWS allows them.
func decodeList(form url.Values, name string, v reflect.Value) error {
	p := name + "."
	idx := map[int]bool{}
	for k := range form {
		if !strings.HasPrefix(k, p) {
			continue
		}
		rest := k[len(p):]
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			rest = rest[:i]
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || n > maxListIndex {
			continue
		}
		idx[n] = true
	}
	if len(idx) == 0 {
		return nil
	}
	order := make([]int, 0, len(idx))
	for n := range idx {
		order = append(order, n)
	}
	sort.Ints(order)
	out := reflect.MakeSlice(v.Type(), 0, len(order))
	for _, n := range order {
		el := reflect.New(v.Type().Elem()).Elem()
		key := p + strconv.Itoa(n)
		if el.Kind() == reflect.Struct {
			if err := decodeStruct(form, key+".", el); err != nil {
				return err
			}
		} else if err := decodeValue(form, key, el); err != nil {
			return err
		}
		out = reflect.Append(out, el)
	}
	v.Set(out)
	return nil
}

// maxListIndex bounds list indexes so that a hostile form cannot make a
// handler iterate over millions of absent entries.
const maxListIndex = 100000
