package ec2

import (
	"bytes"
	"encoding"
	"encoding/xml"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// appendXML writes v's fields as children, the way encoding/xml would
// marshal them inside an element, but from a plan made once per type:
// encoding/xml re-reads struct tags and allocates per value, which made
// it most of the cost of a large Describe answer. Types whose tags ask for
// more than elements (attributes, chardata, innerxml) or that marshal
// themselves (other than List) are handed to encoding/xml.
func appendXML(buf *bytes.Buffer, v reflect.Value) error {
	p := planOf(v.Type())
	if p.fallback {
		return fallbackXML(buf, v)
	}
	// Fields that share "a>" parents share one <a>, as in encoding/xml,
	// which opens the parents of every field that is not a nil pointer,
	// even when the field itself writes nothing.
	var open []string
	for i := range p.fields {
		f := &p.fields[i]
		fv := v.Field(f.index)
		split := 0
		for split < len(f.parents) && split < len(open) && f.parents[split] == open[split] {
			split++
		}
		closeAll(buf, open[split:])
		open = open[:split]
		if len(f.parents) > len(open) && !((fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Interface) && fv.IsNil()) {
			openAll(buf, f.parents[len(open):])
			open = append(open, f.parents[len(open):]...)
		}
		if err := f.write(buf, fv); err != nil {
			return err
		}
	}
	closeAll(buf, open)
	return nil
}

type xmlPlan struct {
	fallback bool
	fields   []xmlField
}

type xmlField struct {
	index     int
	parents   []string // for "a>b>name"
	name      string
	omitempty bool
}

var (
	xmlPlans      sync.Map // reflect.Type -> *xmlPlan
	marshalerType = reflect.TypeFor[xml.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
	listType      = reflect.TypeFor[xmlList]()
)

// xmlList is implemented by List: a set AWS always sends.
type xmlList interface{ isXMLList() }

func (List[T]) isXMLList() {}

func planOf(t reflect.Type) *xmlPlan {
	if p, ok := xmlPlans.Load(t); ok {
		return p.(*xmlPlan)
	}
	p := &xmlPlan{}
	if t.Kind() != reflect.Struct || t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		p.fallback = true
	}
	for i := 0; !p.fallback && i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() || sf.Name == "XMLName" {
			if sf.Name == "XMLName" || sf.Anonymous {
				p.fallback = true
			}
			continue
		}
		tag := sf.Tag.Get("xml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous || (opts != "" && opts != "omitempty") {
			p.fallback = true
			break
		}
		f := xmlField{index: i, omitempty: opts == "omitempty"}
		if name == "" {
			name = sf.Name
		}
		parts := strings.Split(name, ">")
		f.parents, f.name = parts[:len(parts)-1], parts[len(parts)-1]
		p.fields = append(p.fields, f)
	}
	xmlPlans.Store(t, p)
	return p
}

func (f *xmlField) write(buf *bytes.Buffer, v reflect.Value) error {
	if f.omitempty && isEmptyValue(v) {
		return nil
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() != reflect.Uint8 && !v.Type().Implements(listType) {
		for i := 0; i < v.Len(); i++ {
			if err := writeElement(buf, f.name, v.Index(i)); err != nil {
				return err
			}
		}
		return nil
	}
	return writeElement(buf, f.name, v)
}

func openAll(buf *bytes.Buffer, names []string) {
	for _, n := range names {
		buf.WriteByte('<')
		buf.WriteString(n)
		buf.WriteByte('>')
	}
}

func closeAll(buf *bytes.Buffer, names []string) {
	for i := len(names) - 1; i >= 0; i-- {
		buf.WriteString("</")
		buf.WriteString(names[i])
		buf.WriteByte('>')
	}
}

// writeElement writes <name>v</name>.
func writeElement(buf *bytes.Buffer, name string, v reflect.Value) error {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	t := v.Type()
	if t.Implements(listType) {
		buf.WriteByte('<')
		buf.WriteString(name)
		buf.WriteByte('>')
		for i := 0; i < v.Len(); i++ {
			if err := writeElement(buf, "item", v.Index(i)); err != nil {
				return err
			}
		}
		buf.WriteString("</")
		buf.WriteString(name)
		buf.WriteByte('>')
		return nil
	}
	if t.Implements(marshalerType) || t.Implements(textType) {
		return fallbackElement(buf, name, v)
	}
	switch v.Kind() {
	case reflect.String:
		openAll(buf, []string{name})
		escapeXML(buf, v.String())
	case reflect.Bool:
		openAll(buf, []string{name})
		buf.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		openAll(buf, []string{name})
		buf.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		openAll(buf, []string{name})
		buf.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Struct:
		if planOf(t).fallback {
			return fallbackElement(buf, name, v)
		}
		openAll(buf, []string{name})
		if err := appendXML(buf, v); err != nil {
			return err
		}
	default:
		return fallbackElement(buf, name, v)
	}
	buf.WriteString("</")
	buf.WriteString(name)
	buf.WriteByte('>')
	return nil
}

func fallbackElement(buf *bytes.Buffer, name string, v reflect.Value) error {
	enc := xml.NewEncoder(buf)
	if err := enc.EncodeElement(v.Interface(), xml.StartElement{Name: xml.Name{Local: name}}); err != nil {
		return err
	}
	return enc.Flush()
}

// fallbackXML writes v's children with encoding/xml.
func fallbackXML(buf *bytes.Buffer, v reflect.Value) error {
	var inner bytes.Buffer
	if err := xml.NewEncoder(&inner).EncodeElement(v.Interface(), xml.StartElement{Name: xml.Name{Local: "r"}}); err != nil {
		return err
	}
	b := inner.Bytes()
	if bytes.HasPrefix(b, []byte("<r>")) && bytes.HasSuffix(b, []byte("</r>")) {
		buf.Write(b[3 : len(b)-4])
	}
	return nil
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// escapeXML escapes s as encoding/xml's EscapeText does.
func escapeXML(buf *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch r {
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			if !isInCharacterRange(r) || (r == utf8.RuneError && width == 1) {
				esc = "\uFFFD"
				break
			}
			i += width
			continue
		}
		buf.WriteString(s[last:i])
		buf.WriteString(esc)
		i += width
		last = i
	}
	buf.WriteString(s[last:])
}

// isInCharacterRange is XML's Char production.
func isInCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
