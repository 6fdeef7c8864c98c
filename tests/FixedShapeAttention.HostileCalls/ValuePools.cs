using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Intrinsics;
using System.Text;
using FixedShapeAttention.Models;

namespace FixedShapeAttention.HostileCalls;

/// <summary>One argument of a case: a label for the log and a factory called when the case runs (fresh arrays each time).</summary>
internal sealed record ArgumentValue(string Label, Func<InstancePool, object?> Make)
{
    /// <summary>Marks a pooled instance that was not produced (its producer threw): the case is skipped, not run.</summary>
    public static readonly object Missing = new();
}

/// <summary>
/// The values a parameter is tried with. The first is the baseline, sized for the call's shape by the parameter's name
/// so that it passes the length checks; the rest are hostile: null, empty, one element, off by one, twice the length,
/// non-finite or negative contents, negative and huge integers, undefined enum values, and instances other cases made.
/// </summary>
internal static class ValuePools
{
    private const int PooledVariants = 6;

    public static Type? SpanElement(Type type) =>
        type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Span<>) || type.GetGenericTypeDefinition() == typeof(ReadOnlySpan<>))
            ? type.GetGenericArguments()[0]
            : null;

    /// <summary>A <c>ref</c> of this type is given as the first element of an array (a bare ref plus a count).</summary>
    public static bool IsRefToArrayElement(Type type) => type.IsPrimitive;

    /// <summary>The element type of a collection parameter (arrays of objects, lists, enumerables), or null.</summary>
    public static Type? CollectionElement(Type type)
    {
        if (type.IsArray && !type.GetElementType()!.IsPrimitive)
        {
            return type.GetElementType();
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() is Type definition &&
            (definition == typeof(IReadOnlyList<>) || definition == typeof(IEnumerable<>) || definition == typeof(IList<>) ||
             definition == typeof(IReadOnlyCollection<>) || definition == typeof(ICollection<>)))
        {
            return type.GetGenericArguments()[0];
        }

        return null;
    }

    /// <summary>Types whose instances come from other cases (constructors, factories, initializers) rather than literals.</summary>
    public static bool IsPooled(Type type) =>
        !type.IsPrimitive && !type.IsEnum && type != typeof(string) && type != typeof(object) && !type.IsArray && !type.IsByRefLike &&
        !typeof(Delegate).IsAssignableFrom(type) && !IsVector(type) && CollectionElement(type) is null && type != typeof(decimal);

    public static List<ArgumentValue> For(Type type, string name, ShapeContext context)
    {
        if (type.IsByRef)
        {
            Type element = type.GetElementType()!;
            if (element.IsByRefLike)
            {
                return [new("default", _ => null)];
            }

            if (IsRefToArrayElement(element))
            {
                int length = context.LengthFor(name);
                // A null ref can be had from safe code (the reference of an empty span); an out argument is only written.
                return name.StartsWith("out ", StringComparison.Ordinal)
                    ? [Array(element, name, 1, context, "ref [0] of ")]
                    : [Array(element, name, length, context, "ref [0] of "), Array(element, name, 1, context, "ref [0] of "), new("null ref", _ => null)];
            }

            return For(element, name, context);
        }

        if (SpanElement(type) is Type spanElement)
        {
            // A null array becomes the default span: the same as empty, so it is not tried twice.
            return Arrays(spanElement, name, context).Where(v => v.Label != "null").ToList();
        }

        if (type.IsArray && type.GetElementType()!.IsPrimitive)
        {
            return Arrays(type.GetElementType()!, name, context);
        }

        if (CollectionElement(type) is Type item)
        {
            return Collections(type, item, name, context);
        }

        if (type == typeof(int))
        {
            int baseline = context.IntFor(name);
            return Distinct(new[] { baseline, -1, 0, 1, 3, 16, baseline + 1, int.MaxValue, int.MinValue });
        }

        if (type == typeof(long))
        {
            long baseline = name.Equals("flops", StringComparison.OrdinalIgnoreCase) ? 1_000_000 : name.Equals("maxBytes", StringComparison.OrdinalIgnoreCase) ? 1 << 20 : 1;
            return Distinct(new[] { baseline, -1L, 0L, long.MaxValue, long.MinValue });
        }

        if (type == typeof(float))
        {
            float baseline = name.Contains("epsilon", StringComparison.OrdinalIgnoreCase) ? 1e-5f : 0.5f;
            return Distinct(new[] { baseline, float.NaN, -1f, 0f, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue });
        }

        if (type == typeof(double))
        {
            double baseline = name.Equals("theta", StringComparison.OrdinalIgnoreCase) ? 10_000.0 : 0.5;
            return Distinct(new[] { baseline, double.NaN, -1.0, 0.0, double.PositiveInfinity });
        }

        if (type == typeof(bool))
        {
            return [new("false", _ => false), new("true", _ => true)];
        }

        if (type == typeof(char))
        {
            return [new("'a'", _ => 'a'), new("'\\0'", _ => '\0')];
        }

        if (type.IsPrimitive)
        {
            return [new("0", _ => Activator.CreateInstance(type)), new("max", _ => type.GetField("MaxValue")!.GetValue(null))];
        }

        if (type.IsEnum)
        {
            var values = Enum.GetValues(type).Cast<object>().Select(v => new ArgumentValue(v.ToString()!, _ => v)).ToList();
            values.Add(new ArgumentValue("(enum)-1", _ => Enum.ToObject(type, -1)));
            values.Add(new ArgumentValue("(enum)999", _ => Enum.ToObject(type, 999)));
            return values;
        }

        if (type == typeof(string))
        {
            return
            [
                new("\"hello world\"", _ => "hello world"),
                new("null", _ => null),
                new("\"\"", _ => ""),
                new("\"\\0\\uFFFF\"", _ => "\0\uFFFF"),
                new("100k chars", _ => new string('x', 100_000)),
                new("missing path", _ => "/nonexistent/dir/model.onnx"),
            ];
        }

        if (IsVector(type))
        {
            return [Vector(type, 0.5f), new("default", _ => Activator.CreateInstance(type)), Vector(type, float.NaN), Vector(type, float.PositiveInfinity)];
        }

        if (typeof(Delegate).IsAssignableFrom(type) || type == typeof(object))
        {
            return [new("null", _ => null)];
        }

        if (type == typeof(SentenceEncoder))
        {
            return [new("all-MiniLM-L6-v2 encoder", _ => s_miniLm.Value), new("null", _ => null), .. Pooled(type, context, skipFirst: false, count: 2)];
        }

        if (type == typeof(Stream))
        {
            return
            [
                new("vocabulary stream", _ => new MemoryStream(Encoding.UTF8.GetBytes("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n"))),
                new("null", _ => null),
                new("empty stream", _ => new MemoryStream()),
                new("random bytes", _ => new MemoryStream(Bytes(4096, 7))),
                new("closed stream", _ => { var s = new MemoryStream(Bytes(64, 3)); s.Dispose(); return s; }),
                .. Pooled(type, context, skipFirst: false, count: 2),
            ];
        }

        // A struct no case made (a probe kernel, say) is tried as its default value.
        var pooled = new List<ArgumentValue>(Pooled(type, context, skipFirst: false, count: 1, orDefault: type.IsValueType));
        if (type.IsValueType)
        {
            pooled.Add(new ArgumentValue("default", _ => Activator.CreateInstance(type)));
        }
        else
        {
            pooled.Add(new ArgumentValue("null", _ => null));
        }

        pooled.AddRange(Pooled(type, context, skipFirst: true, count: PooledVariants - 1));
        return pooled;
    }

    /// <summary>The receivers of an instance member: the type's default (structs) and the first pooled instances.</summary>
    /// <summary>
    /// A real encoder for SentenceEncoder's instance members and for the parameters that take one: no public member
    /// makes one from the values in these pools (that needs a model file), so it is loaded from the repository's copy.
    /// </summary>
    private static readonly Lazy<SentenceEncoder> s_miniLm = new(() => FixedShapeAttention.SampleModels.MiniLmPackage.LoadEncoder());

    public static List<ArgumentValue> Receivers(Type type, ShapeContext context)
    {
        var receivers = new List<ArgumentValue>();
        if (type.IsByRefLike)
        {
            return [new("default receiver", _ => null)];
        }

        if (type.IsValueType)
        {
            receivers.Add(new ArgumentValue("default receiver", _ => Activator.CreateInstance(type)));
        }

        if (type == typeof(SentenceEncoder))
        {
            receivers.Add(new ArgumentValue("all-MiniLM-L6-v2 encoder", _ => s_miniLm.Value));
        }

        receivers.AddRange(Pooled(type, context, skipFirst: false, count: 4));
        return receivers;
    }

    private static IEnumerable<ArgumentValue> Pooled(Type type, ShapeContext context, bool skipFirst, int count, bool orDefault = false)
    {
        int first = skipFirst ? 1 : 0;
        for (int i = first; i < first + count; i++)
        {
            int index = i;
            yield return new ArgumentValue(
                $"{type.Name} #{index}",
                pool => pool.Get(type, context, index) ?? (orDefault ? Activator.CreateInstance(type) : ArgumentValue.Missing));
        }
    }

    private static List<ArgumentValue> Arrays(Type element, string name, ShapeContext context)
    {
        int length = context.LengthFor(name);
        var values = new List<ArgumentValue>
        {
            Array(element, name, length, context),
            new("null", _ => null),
            Array(element, name, 0, context),
            Array(element, name, 1, context),
        };

        if (length > 2)
        {
            values.Add(Array(element, name, length - 1, context));
        }

        values.Add(Array(element, name, length + 1, context));
        values.Add(Array(element, name, 2 * length, context));
        foreach (object hostile in HostileElements(element))
        {
            values.Add(new ArgumentValue($"{element.Name}[{length}] of {hostile}", _ => Fill(element, length, hostile)));
        }

        return values;
    }

    private static ArgumentValue Array(Type element, string name, int length, ShapeContext context, string prefix = "") =>
        new($"{prefix}{element.Name}[{length}]", _ => Baseline(element, name, length, context));

    private static readonly Dictionary<(Type, string, int, int), System.Array> s_baselines = [];

    /// <summary>Valid-looking contents: small values, ids and mask ones, counts of a whole sequence. Made once per
    /// name and length and copied for every case, so that a callee writing into one case's array cannot reach another.</summary>
    private static System.Array Baseline(Type element, string name, int length, ShapeContext context)
    {
        var key = (element, name, length, context.S);
        if (!s_baselines.TryGetValue(key, out System.Array? array))
        {
            array = MakeBaseline(element, name, length, context);
            s_baselines[key] = array;
        }

        return (System.Array)array.Clone();
    }

    private static System.Array MakeBaseline(Type element, string name, int length, ShapeContext context)
    {
        var random = new Random(name.Length * 7919 + length);
        if (element == typeof(float))
        {
            var floats = new float[length];
            for (int i = 0; i < length; i++)
            {
                floats[i] = (float)(random.NextDouble() * 2 - 1);
            }

            return floats;
        }

        if (element == typeof(int))
        {
            var ints = new int[length];
            System.Array.Fill(ints, name.Contains("count", StringComparison.OrdinalIgnoreCase) ? context.S : 1);
            return ints;
        }

        if (element == typeof(long))
        {
            var longs = new long[length];
            System.Array.Fill(longs, 1L);
            return longs;
        }

        if (element == typeof(byte))
        {
            return Bytes(length, length);
        }

        System.Array array = System.Array.CreateInstance(element, length);
        for (int i = 0; i < length; i++)
        {
            array.SetValue(element == typeof(double) ? random.NextDouble() * 2 - 1 : Activator.CreateInstance(element), i);
        }

        return array;
    }

    private static IEnumerable<object> HostileElements(Type element) =>
        element == typeof(float) ? [float.NaN, float.NegativeInfinity]
        : element == typeof(double) ? [double.NaN]
        : element == typeof(int) ? [-1, int.MaxValue]
        : element == typeof(long) ? [-1L, long.MaxValue]
        : [];

    private static System.Array Fill(Type element, int length, object value)
    {
        System.Array array = System.Array.CreateInstance(element, length);
        switch (value)
        {
            case float f: System.Array.Fill((float[])array, f); break;
            case int n: System.Array.Fill((int[])array, n); break;
            case long n: System.Array.Fill((long[])array, n); break;
            default:
                for (int i = 0; i < length; i++)
                {
                    array.SetValue(value, i);
                }

                break;
        }

        return array;
    }

    private static List<ArgumentValue> Collections(Type type, Type item, string name, ShapeContext context)
    {
        ArgumentValue Of(string label, Func<InstancePool, object?[]> items) => new(label, pool =>
        {
            object?[] values = items(pool);
            if (values.Any(v => ReferenceEquals(v, ArgumentValue.Missing)))
            {
                return ArgumentValue.Missing;
            }

            System.Array array = System.Array.CreateInstance(item, values.Length);
            for (int i = 0; i < values.Length; i++)
            {
                array.SetValue(values[i], i);
            }

            return array;
        });

        var values = new List<ArgumentValue>();
        if (item == typeof(string))
        {
            values.Add(Of("[\"hello world\", \"a\"]", _ => ["hello world", "a"]));
        }
        else
        {
            values.Add(Of($"[{item.Name} #0]", pool => [pool.Get(item, context, 0) ?? ArgumentValue.Missing]));
        }

        values.Add(new ArgumentValue("null", _ => null));
        values.Add(Of("[]", _ => []));
        if (!item.IsValueType)
        {
            values.Add(Of("[null]", _ => [null]));
        }

        if (item == typeof(string))
        {
            values.Add(Of("[\"\"]", _ => [""]));
            values.Add(Of("[100k chars]", _ => [new string('x', 100_000)]));
        }
        else
        {
            values.Add(Of($"[{item.Name} #1, #0]", pool => [pool.Get(item, context, 1) ?? ArgumentValue.Missing, pool.Get(item, context, 0)]));
        }

        return values;
    }

    private static bool IsVector(Type type) =>
        type.IsGenericType && type.Namespace == "System.Runtime.Intrinsics" && type.Name.StartsWith("Vector", StringComparison.Ordinal);

    private static ArgumentValue Vector(Type type, float value)
    {
        Type factory = type.Assembly.GetType($"System.Runtime.Intrinsics.{type.Name[..type.Name.IndexOf('`')]}")!;
        MethodInfo create = factory.GetMethods()
            .First(m => m.Name == "Create" && m.IsGenericMethodDefinition && m.GetParameters() is [{ ParameterType.IsGenericMethodParameter: true }])
            .MakeGenericMethod(type.GetGenericArguments()[0]);
        object element = Convert.ChangeType(value, type.GetGenericArguments()[0], System.Globalization.CultureInfo.InvariantCulture);
        return new ArgumentValue($"{type.Name}({value})", _ => create.Invoke(null, [element]));
    }

    private static List<ArgumentValue> Distinct<T>(T[] candidates)
        where T : notnull =>
        candidates.Distinct().Select(v => new ArgumentValue(v.ToString()!, _ => v)).ToList();

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

/// <summary>
/// Instances made by earlier cases (constructors, factories, initializers), by type and by the shape they were made
/// for, so that later cases pass both well-formed and hostile-but-accepted objects to the members that consume them.
/// </summary>
internal sealed class InstancePool
{
    private readonly List<(object Value, ShapeContext Context, bool Baseline)> _entries = [];

    public void Add(object value, ShapeContext context, bool baseline)
    {
        if (ValuePools.IsPooled(value.GetType()) && !_entries.Any(e => ReferenceEquals(e.Value, value)))
        {
            _entries.Add((value, context, baseline));
        }
    }

    /// <summary>The <paramref name="index"/>-th instance of a type: baselines made for this shape first, then other
    /// instances made for it, then the rest; null when there are not that many.</summary>
    public object? Get(Type type, ShapeContext context, int index) =>
        _entries
            .Where(e => type.IsInstanceOfType(e.Value))
            .OrderBy(e => e.Context == context ? (e.Baseline ? 0 : 1) : (e.Baseline ? 2 : 3))
            .Select(e => e.Value)
            .Skip(index)
            .FirstOrDefault();

    public IEnumerable<IGrouping<string, object>> ByType => _entries.Select(e => e.Value).GroupBy(v => v.GetType().Name);
}
