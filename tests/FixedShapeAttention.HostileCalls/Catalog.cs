using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using FixedShapeAttention.CompilerServices;
using FixedShapeAttention.Models;
using FixedShapeAttention.Tests;

namespace FixedShapeAttention.HostileCalls;

/// <summary>One call of one member with one set of arguments.</summary>
internal sealed record HostileCase(int Id, Member Member, string Variant, ArgumentValue? Receiver, ArgumentValue[] Arguments, bool Baseline);

/// <summary>A public member to call, closed over concrete types, with the shape its baseline arguments are sized for.</summary>
internal sealed class Member
{
    private Invoker? _invoker;

    public Member(MethodBase method, ShapeContext context, PropertyInfo[]? initializer = null)
    {
        Method = method;
        Context = context;
        Initializer = initializer;
    }

    public MethodBase Method { get; }

    public ShapeContext Context { get; }

    /// <summary>For an object initializer (<c>new T { P = … }</c>): the properties set; <see cref="Method"/> is the constructor.</summary>
    public PropertyInfo[]? Initializer { get; }

    public Type DeclaringType => Method.DeclaringType!;

    public bool IsInstance => Initializer is null && !Method.IsStatic && Method is not ConstructorInfo;

    /// <summary>The type of the instance a call makes, or null for a void method.</summary>
    public Type? Produces =>
        Initializer is not null || Method is ConstructorInfo ? DeclaringType
        : ((MethodInfo)Method).ReturnType is Type returned && returned != typeof(void) ? returned
        : null;

    public (Type Type, string Name)[] Parameters =>
        Initializer is not null
            ? Initializer.Select(p => (p.PropertyType, p.Name)).ToArray()
            : Method.GetParameters().Select(p => (p.ParameterType, (p.IsOut ? "out " : "") + (p.Name ?? "arg"))).ToArray();

    public string Name
    {
        get
        {
            string type = TypeName(DeclaringType);
            if (Initializer is not null)
            {
                return $"new {type} {{ {string.Join(", ", Initializer.Select(p => p.Name))} }}";
            }

            string generic = Method is MethodInfo { IsGenericMethod: true } m ? $"<{string.Join(", ", m.GetGenericArguments().Select(TypeName))}>" : "";
            string name = Method is ConstructorInfo ? "new " + type : $"{type}.{Method.Name}{generic}";
            return $"{name}({string.Join(", ", Method.GetParameters().Select(p => TypeName(p.ParameterType)))})";
        }
    }

    public object? Invoke(object? receiver, object?[] arguments)
    {
        if (Initializer is null)
        {
            _invoker ??= InvokerCompiler.Compile(Method);
            return _invoker(receiver, arguments);
        }

        object instance = ((ConstructorInfo)Method).Invoke(null);
        for (int i = 0; i < Initializer.Length; i++)
        {
            try
            {
                Initializer[i].SetValue(instance, arguments[i]);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            }
        }

        return instance;
    }

    public static string TypeName(Type type)
    {
        if (type.IsByRef)
        {
            return "ref " + TypeName(type.GetElementType()!);
        }

        if (!type.IsGenericType)
        {
            return type.Name;
        }

        return $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>";
    }
}

/// <summary>
/// Discovers what to call: every public type of the runtime and Models libraries and a few generated shapes; their
/// public constructors, static methods, instance methods (on instances other cases made) and object initializers;
/// generic ones closed over the declared shapes, the library's operator structs and a probe kernel.
/// </summary>
internal static class Catalog
{
    /// <summary>Generated shapes whose members are called: the worked example, a one-token shape, odd widths, causal GELU
    /// with four heads, the column-split feed-forward network, and MiniLM's widths (the issue's crashing call).</summary>
    /// <remarks>Generic members are closed over the first two, which are also the contexts of non-shape members, so the
    /// instances those make (layer parameters, packed weights) fit the closed generics.</remarks>
    public static readonly Type[] Shapes = [typeof(WorkedExample), typeof(MiniLm), typeof(CausalGelu), typeof(Tiny), typeof(Odd), typeof(ColumnSplitTail)];

    /// <summary>Members of non-shape types are called for a small shape and for MiniLM's widths.</summary>
    private static readonly Type[] s_defaultContexts = [typeof(WorkedExample), typeof(MiniLm)];

    public static readonly Assembly[] Libraries = [typeof(TransformerShape).Assembly, typeof(SentenceEncoder).Assembly];

    public static (List<HostileCase> Cases, List<string> Skipped) Build()
    {
        var skipped = new List<string>();
        var members = new List<Member>();
        var types = Libraries.SelectMany(a => a.GetExportedTypes()).Concat(Shapes).Distinct().OrderBy(t => t.FullName, StringComparer.Ordinal);
        foreach (Type type in types)
        {
            if (ShapeContext.IsShapeClass(type) && !Shapes.Contains(type) && type != SmallestShapeOf(type.Assembly))
            {
                skipped.Add($"{type.FullName}: a generated shape class; {Shapes.Length} shapes and the smallest of each library stand for the generator's output");
                continue;
            }

            if (type.IsInterface || type.IsEnum || typeof(Delegate).IsAssignableFrom(type))
            {
                continue;
            }

            foreach (Type closed in Close(type, skipped))
            {
                foreach (ShapeContext context in ContextsFor(closed))
                {
                    members.AddRange(MembersOf(closed, context, skipped));
                }
            }
        }

        return (Enumerate(Schedule(members)), skipped);
    }

    private static Type? SmallestShapeOf(Assembly assembly) =>
        assembly.GetExportedTypes().Where(ShapeContext.IsShapeClass).OrderBy(t => ShapeContext.Of(t).S).FirstOrDefault();

    private static IEnumerable<ShapeContext> ContextsFor(Type type)
    {
        if (ShapeContext.IsShapeClass(type))
        {
            return [ShapeContext.Of(type)];
        }

        if (type.IsGenericType && type.GetGenericArguments().FirstOrDefault(ShapeContext.IsShapeClass) is Type shape)
        {
            return [ShapeContext.Of(shape)];
        }

        if (SmallestShapeOf(type.Assembly) is Type own)
        {
            return [ShapeContext.Of(own)];
        }

        return s_defaultContexts.Select(ShapeContext.Of);
    }

    private static IEnumerable<Type> Close(Type type, List<string> skipped)
    {
        if (!type.IsGenericTypeDefinition)
        {
            return [type];
        }

        var closed = new List<Type>();
        foreach (Type[] arguments in Candidates(type.GetGenericArguments()))
        {
            try
            {
                closed.Add(type.MakeGenericType(arguments));
            }
            catch (ArgumentException)
            {
            }
        }

        if (closed.Count == 0)
        {
            skipped.Add($"{type.FullName}: no type satisfies its generic constraints");
        }

        return closed;
    }

    /// <summary>Up to two ways to close a generic parameter list, each argument the first satisfying its constraints.</summary>
    private static IEnumerable<Type[]> Candidates(Type[] parameters)
    {
        Type[] pool =
        [
            .. Shapes,
            typeof(ProbeKernel),
            .. Libraries[0].GetExportedTypes().Where(t => t.IsValueType && !t.IsGenericTypeDefinition && !t.IsEnum),
            // The sentence-encoder shape the Models library declares, for SentenceEncoder.Load<TShape> and friends.
            typeof(MiniLmShape),
        ];

        for (int choice = 0; choice < 2; choice++)
        {
            var arguments = new Type[parameters.Length];
            for (int i = 0; i < parameters.Length; i++)
            {
                Type[] fits = pool.Where(candidate => Satisfies(candidate, parameters[i])).ToArray();
                if (fits.Length == 0)
                {
                    yield break;
                }

                arguments[i] = fits[Math.Min(choice, fits.Length - 1)];
            }

            yield return arguments;
        }
    }

    private static bool Satisfies(Type candidate, Type parameter)
    {
        GenericParameterAttributes attributes = parameter.GenericParameterAttributes;
        if ((attributes & GenericParameterAttributes.NotNullableValueTypeConstraint) != 0 && !candidate.IsValueType)
        {
            return false;
        }

        if ((attributes & GenericParameterAttributes.ReferenceTypeConstraint) != 0 && candidate.IsValueType)
        {
            return false;
        }

        return parameter.GetGenericParameterConstraints().All(constraint =>
            constraint == typeof(ValueType) ? candidate.IsValueType : !constraint.ContainsGenericParameters && constraint.IsAssignableFrom(candidate));
    }

    private static IEnumerable<Member> MembersOf(Type type, ShapeContext context, List<string> skipped)
    {
        const BindingFlags Declared = BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        var methods = new List<MethodBase>();
        if (!type.IsAbstract)
        {
            methods.AddRange(type.GetConstructors());
        }

        foreach (MethodInfo method in type.GetMethods(Declared))
        {
            if (method.Name.Contains('<') || IsInitOnlySetter(method))
            {
                continue; // compiler-made (a record's <Clone>$), or an init accessor: set only by an initializer below
            }

            if (!method.IsGenericMethodDefinition)
            {
                methods.Add(method);
                continue;
            }

            bool any = false;
            foreach (Type[] arguments in Candidates(method.GetGenericArguments()))
            {
                try
                {
                    methods.Add(method.MakeGenericMethod(arguments));
                    any = true;
                }
                catch (ArgumentException)
                {
                }
            }

            if (!any)
            {
                skipped.Add($"{Member.TypeName(type)}.{method.Name}: no type satisfies its generic constraints");
            }
        }

        foreach (MethodBase method in methods.Distinct().OrderBy(m => m.ToString(), StringComparer.Ordinal))
        {
            ParameterInfo? unsupplied = method.GetParameters().FirstOrDefault(p => !InvokerCompiler.CanSupply(p.ParameterType));
            if (unsupplied is not null)
            {
                skipped.Add($"{Member.TypeName(type)}.{method.Name}: takes a raw pointer ({unsupplied.Name}), unsafe code by the caller's choice");
                continue;
            }

            if (method is ConstructorInfo ctor && ctor.GetParameters().Length == 0 && InitProperties(type) is { Length: > 0 } properties)
            {
                yield return new Member(ctor, context, properties);
            }

            yield return new Member(method, context);
        }
    }

    private static PropertyInfo[] InitProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }).ToArray();

    private static bool IsInitOnlySetter(MethodInfo method) =>
        method.IsSpecialName && method.Name.StartsWith("set_", StringComparison.Ordinal) &&
        method.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit));

    /// <summary>
    /// Orders members so that each runs after a member that can make the instances it consumes (its receiver, its
    /// parameters of pooled types): factories and initializers first, consumers after.
    /// </summary>
    private static List<Member> Schedule(List<Member> members)
    {
        var ordered = new List<Member>();
        var produced = new HashSet<Type>();
        var remaining = new List<Member>(members);
        bool CanProduce(Type needed) => members.Any(m => m.Produces is Type p && needed.IsAssignableFrom(p));
        bool Ready(Member m) => Needs(m).All(t => produced.Any(p => t.IsAssignableFrom(p)) || !CanProduce(t));

        while (remaining.Count > 0)
        {
            var ready = remaining.Where(Ready).ToList();
            if (ready.Count == 0)
            {
                ready = remaining.ToList(); // a cycle: run the rest with whatever the pool holds (a copy: the loop removes from remaining)
            }

            foreach (Member m in ready)
            {
                ordered.Add(m);
                remaining.Remove(m);
                if (m.Produces is Type p)
                {
                    produced.Add(p);
                }
            }
        }

        return ordered;
    }

    private static IEnumerable<Type> Needs(Member member)
    {
        if (member.IsInstance)
        {
            yield return member.DeclaringType;
        }

        foreach ((Type type, _) in member.Parameters)
        {
            Type t = type.IsByRef ? type.GetElementType()! : type;
            t = ValuePools.CollectionElement(t) ?? t;
            if (ValuePools.IsPooled(t) && ValuePools.SpanElement(t) is null)
            {
                yield return t;
            }
        }
    }

    /// <summary>
    /// The cases of every member: all baseline arguments; each argument (and the receiver) varied alone through its
    /// hostile values; and three cases where every argument takes its first, second and third hostile value at once.
    /// </summary>
    private static List<HostileCase> Enumerate(List<Member> members)
    {
        var cases = new List<HostileCase>();
        foreach (Member member in members)
        {
            (Type Type, string Name)[] parameters = member.Parameters;
            List<ArgumentValue>[] values = parameters.Select(p => ValuePools.For(p.Type, p.Name, member.Context)).ToArray();
            List<ArgumentValue>? receivers = member.IsInstance ? ValuePools.Receivers(member.DeclaringType, member.Context) : null;
            if (receivers is { Count: 0 })
            {
                continue;
            }

            ArgumentValue? baselineReceiver = receivers?[0];
            ArgumentValue[] baseline = values.Select(v => v[0]).ToArray();
            void Add(string variant, ArgumentValue? receiver, ArgumentValue[] arguments, bool isBaseline) =>
                cases.Add(new HostileCase(cases.Count, member, variant, receiver, arguments, isBaseline));

            Add("baseline", baselineReceiver, baseline, isBaseline: true);
            for (int r = 1; r < (receivers?.Count ?? 0); r++)
            {
                Add($"receiver = {receivers![r].Label}", receivers[r], baseline, isBaseline: false);
            }

            for (int i = 0; i < parameters.Length; i++)
            {
                for (int j = 1; j < values[i].Count; j++)
                {
                    ArgumentValue[] arguments = (ArgumentValue[])baseline.Clone();
                    arguments[i] = values[i][j];
                    Add($"{parameters[i].Name} = {values[i][j].Label}", baselineReceiver, arguments, isBaseline: false);
                }
            }

            for (int k = 1; k <= 3 && parameters.Length > 1; k++)
            {
                ArgumentValue[] arguments = values.Select(v => v[Math.Min(k, v.Count - 1)]).ToArray();
                Add($"all = [{string.Join(", ", arguments.Select(a => a.Label))}]", baselineReceiver, arguments, isBaseline: false);
            }
        }

        return cases;
    }
}

/// <summary>
/// A chunk kernel as a user could write one from safe code (it is public): it reads the first element of each buffer
/// and the count of the sequence its chunk stands for. ParallelRunner's generic methods are closed over it.
/// </summary>
public readonly struct ProbeKernel : IChunkKernel
{
    /// <summary>Chunks past this throw: a call of int.MaxValue chunks is the caller's to make, not one to wait for.</summary>
    public const int MaxChunks = 64;

    /// <inheritdoc/>
    public void Execute(in KernelBuffers buffers, int chunk)
    {
        if (chunk >= MaxChunks)
        {
            throw new InvalidOperationException($"The probe kernel runs at most {MaxChunks} chunks.");
        }

        float sum = buffers.Input0 + buffers.Output;
        buffers.Output = sum + buffers.SequenceCount(chunk, 0);
    }
}
