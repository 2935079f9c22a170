import Testing
@testable import DriftStatistics

// A/B statistics against scipy 1.17.1 / numpy 2.4.6. statsmodels is not installed here, so its
// formulas (Newcombe's interval, the mSPRT) are written out in numpy in the one-liner above each value.

@Suite struct ABTestingReferenceTests {
  // python3 -c "from scipy.stats import norm; [print(repr(p), repr(norm.ppf(p))) for p in [0.975, 0.5+1e-12, 1e-300, 0.995, 0.025/3, 1-1e-10, 0.3, 0.74]]"
  @Test("Normal quantile matches scipy.stats.norm.ppf, centre to far tail", arguments: [
    (0.975, 1.959963984540054), (0.5 + 1e-12, 2.5065728237018607e-12), (1e-300, -37.0470962993612),
    (0.995, 2.5758293035489004), (0.025 / 3, -2.3939797998185095), (1 - 1e-10, 6.361340889697422),
    (0.3, -0.5244005127080409), (0.74, 0.643345405392917),
  ])
  func normalQuantile(_ p: Double, _ scipy: Double) {
    #expect(isClose(NormalDistribution.quantile(p), scipy, rel: 1e-13))
  }

  @Test("Normal quantile edges: ±∞ at 0 and 1, NaN outside") func normalQuantileEdges() {
    #expect(NormalDistribution.quantile(0) == -.infinity)
    #expect(NormalDistribution.quantile(1) == .infinity)
    #expect(NormalDistribution.quantile(0.5) == 0)
    #expect(NormalDistribution.quantile(1.5).isNaN && NormalDistribution.quantile(.nan).isNaN)
  }

  // Newcombe's interval written out (Wilson limits w, then method 10):
  // python3 -c "
  // import numpy as np; from scipy.stats import norm
  // def w(x,n,c): p=x/n; m=(x+c*c/2)/(n+c*c); h=c*np.sqrt(n)/(n+c*c)*np.sqrt(p*(1-p)+c*c/(4*n)); return m-h,m+h
  // def cmp(x0,n0,x1,n1,a=0.05):
  //   p0,p1=x0/n0,x1/n1; P=(x0+x1)/(n0+n1); z=(p1-p0)/np.sqrt(P*(1-P)*(1/n0+1/n1)); c=norm.ppf(1-a/2); l1,u1=w(x1,n1,c); l0,u0=w(x0,n0,c); d=p1-p0
  //   return z, 2*norm.sf(abs(z)), d, d-np.hypot(p1-l1,u0-p0), d+np.hypot(u1-p1,p0-l0), d/p0 if p0 else None
  // for a in [(120,1000,150,1000),(0,500,3,480),(4500,5000,4400,5000,0.01)]: print(a, [repr(v) for v in cmp(*a)])"
  @Test("Two-proportion comparison: z, p, difference, Newcombe interval and lift match numpy/scipy")
  func proportions() throws {
    let a = try compareProportions(control: .init(successes: 120, trials: 1000), candidate: .init(successes: 150, trials: 1000))
    #expect(isClose(a.z, 1.963049807622355) && isClose(a.pValue, 0.04964038686536878))
    #expect(isClose(a.difference, 0.03, rel: 1e-12) && isClose(a.relativeLift, 0.25, rel: 1e-12))
    #expect(isClose(a.confidenceInterval.lower, 1.3782434204030747e-05, rel: 1e-7))   // a difference of nearby numbers
    #expect(isClose(a.confidenceInterval.upper, 0.06000825857012654))
    let b = try compareProportions(control: .init(successes: 0, trials: 500), candidate: .init(successes: 3, trials: 480))
    #expect(isClose(b.z, 1.7704789468180342) && isClose(b.pValue, 0.0766473885251181))
    #expect(isClose(b.confidenceInterval.lower, -0.0024173612562662893) && isClose(b.confidenceInterval.upper, 0.0182124615144389))
    #expect(b.relativeLift == nil)
    let c = try compareProportions(control: .init(successes: 4500, trials: 5000), candidate: .init(successes: 4400, trials: 5000), alpha: 0.01)
    #expect(isClose(c.z, -3.196013860502968) && isClose(c.pValue, 0.0013934041792054558))
    #expect(isClose(c.confidenceInterval.lower, -0.03614359978739909) && isClose(c.confidenceInterval.upper, -0.0038770686184789634))
    #expect(isClose(c.relativeLift, -0.02222222222222224, rel: 1e-12))
  }

  // Newcombe (Stat. Med. 17, 1998) Table II, examples (a)–(d), method 10, as published to 4 decimals.
  @Test("Newcombe interval reproduces the published examples", arguments: [
    (56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090), (6, 7, 2, 7, 0.0582, 0.8062), (5, 56, 0, 29, -0.0381, 0.1926),
  ])
  func newcombePublished(_ x1: Int, _ n1: Int, _ x0: Int, _ n0: Int, _ lower: Double, _ upper: Double) throws {
    let r = try compareProportions(control: .init(successes: x0, trials: n0), candidate: .init(successes: x1, trials: n1))
    #expect((r.confidenceInterval.lower - lower).magnitude < 5e-5 && (r.confidenceInterval.upper - upper).magnitude < 5e-5)
  }

  @Test("No failures in either variant is no evidence of a difference, not an error") func allTrialsAgree() throws {
    let r = try compareProportions(control: .init(successes: 800, trials: 800), candidate: .init(successes: 900, trials: 900))
    #expect(r.z == 0 && r.pValue == 1 && r.difference == 0)
    // the Wilson limits of 800/800 and 900/900 still leave room on both sides, narrowly
    #expect(r.confidenceInterval.lower < 0 && r.confidenceInterval.upper > 0)
    #expect(r.confidenceInterval.upper - r.confidenceInterval.lower < 0.01)
  }

  // Exact case (6 vs 7, no ties): the null distribution of U enumerated over all C(13, 7) splits.
  // python3 -c "
  // import numpy as np, itertools; from scipy.stats import mannwhitneyu
  // x=[12.1,15.3,9.8,11.0,14.2,13.7]; y=[10.2,8.9,11.5,9.4,10.8,12.6,9.9]
  // r=mannwhitneyu(x,y); m,n=len(x),len(y); U=m*n-r.statistic; D=np.sort(np.subtract.outer(y,x).ravel())
  // pool=np.array(x+y); cnt=np.zeros(m*n+1)
  // for c in itertools.combinations(range(m+n),n):
  //   ys=pool[list(c)]; xs=np.delete(pool,list(c)); cnt[int((ys[:,None]>xs[None,:]).sum())]+=1
  // P=cnt/cnt.sum(); cdf=np.cumsum(P); k=int((cdf<=0.025).sum())
  // print(repr(U), repr(r.pvalue), U/(m*n), 2*U/(m*n)-1, np.median(D), k, repr(D[k-1]), repr(D[m*n-k]), 1-2*cdf[k-1])"
  // → 8.0 0.07342657342657342 0.19047619047619047 -0.6190476190476191 -2.1999999999999993 7 -4.799999999999999 0.3999999999999986 0.965…
  @Test("Mann–Whitney comparison, exact: U, p, effect sizes, Hodges–Lehmann shift and exact interval")
  func locationExact() throws {
    let r = try compareLocations(control: [12.1, 15.3, 9.8, 11.0, 14.2, 13.7], candidate: [10.2, 8.9, 11.5, 9.4, 10.8, 12.6, 9.9])
    #expect(r.method == .exact && r.u == 8 && isClose(r.pValue, 0.07342657342657342))
    #expect(isClose(r.probabilityCandidateGreater, 0.19047619047619047) && isClose(r.rankBiserialCorrelation, -0.6190476190476191))
    #expect(r.shift == -2.1999999999999993)
    #expect(r.confidenceInterval == ConfidenceInterval(lower: -4.799999999999999, upper: 0.3999999999999986))   // bit-exact
  }

  // Asymptotic case with ties (integer latencies): k = floor(mn/2 - z·σ_U + 0.5), σ_U tie-corrected.
  // python3 -c "
  // import numpy as np; from scipy.stats import mannwhitneyu, norm
  // g=np.random.default_rng(17); x=np.round(g.lognormal(3,.4,40),0); y=np.round(g.lognormal(2.85,.4,35),0)
  // r=mannwhitneyu(x,y); m,n=len(x),len(y); U=m*n-r.statistic; D=np.sort(np.subtract.outer(y,x).ravel())
  // pool=np.concatenate([x,y]); _,t=np.unique(pool,return_counts=True); N=m+n; s=np.sqrt(m*n/12*((N+1)-(t**3-t).sum()/(N*(N-1))))
  // k=int(np.floor(m*n/2-norm.ppf(.975)*s+0.5)); print(repr(U), repr(r.pvalue), 2*U/(m*n)-1, np.median(D), k, D[k-1], D[m*n-k])"
  // → 531.5 0.07395560535959718 -0.24071428571428577 -3.0 516 -7.0 0.0
  @Test("Mann–Whitney comparison, asymptotic with ties: matches scipy and the normal-approximation interval")
  func locationAsymptotic() throws {
    let control: [Double] = [31, 23, 16, 12, 9, 20, 15, 14, 18, 20, 8, 29, 9, 42, 25, 17, 34, 20, 26, 21, 31, 31, 14, 16, 23, 18, 8, 45, 8, 9, 12, 25, 41, 18, 17, 22, 17, 21, 13, 24]
    let candidate: [Double] = [20, 7, 17, 18, 22, 12, 10, 12, 22, 12, 13, 27, 13, 12, 17, 19, 26, 12, 9, 16, 22, 10, 14, 20, 19, 18, 16, 13, 12, 27, 11, 28, 10, 55, 9]
    let r = try compareLocations(control: control, candidate: candidate)
    #expect(r.method == .asymptotic && r.u == 531.5 && isClose(r.pValue, 0.07395560535959718))
    #expect(isClose(r.rankBiserialCorrelation, -0.24071428571428577))
    #expect(r.shift == -3 && r.confidenceInterval == ConfidenceInterval(lower: -7, upper: 0))
  }

  @Test("Hodges–Lehmann order statistics equal brute force on random data") func orderedDifferencesBruteForce() {
    var stream = TestStream(state: 5)   // SketchTests.swift
    for trial in 0..<30 {
      let x = (0..<(1 + trial % 7)).map { _ in stream.normal() }.sorted()
      let y = (0..<(1 + trial % 5)).map { _ in (stream.normal() * 4).rounded() / 4 }.sorted()   // ties
      let all = y.flatMap { b in x.map { b - $0 } }.sorted()
      for k in 1...all.count { #expect(orderedDifference(k, control: x, candidate: y) == all[k - 1]) }
    }
  }

  // The mSPRT written out (Johari et al. 2022: Λ from the normal approximation, p = running min of 1/Λ,
  // interval = running intersection):
  // python3 -c "
  // import numpy as np
  // def run(looks,tau2=None,nstar=None,a=0.05):
  //   p=1.0; lo,hi=-np.inf,np.inf; out=[]
  //   for x0,n0,x1,n1 in looks:
  //     r0,r1=x0/n0,x1/n1; v0,v1=r0*(1-r0),r1*(1-r1); s2=v0/n0+v1/n1; d=r1-r0
  //     if tau2 is None: L=-np.log(a); tau2=(2*L+np.log1p(2*L))*(v0+v1)/nstar
  //     T=s2+tau2; lam=np.exp(0.5*np.log(s2/T)+tau2*d*d/(2*s2*T)); p=min(p,1/lam)
  //     h=np.sqrt(s2*T/tau2*(2*-np.log(a)+np.log(T/s2))); lo,hi=max(lo,d-h),min(hi,d+h); out.append((repr(p),repr(lo),repr(hi)))
  //   return tau2,out
  // L=[(100,1000,130,1000),(210,2000,262,2000),(300,3000,390,3000)]
  // print(run(L,tau2=4e-4)); print(run(L,nstar=1000))"
  @Test("mSPRT on proportions: always-valid p-values and intervals match numpy, fixed and tuned τ²",
        arguments: [
          (MixingVariance.fixed(4e-4), 4e-4, [(0.39640450262080684, -0.01656200046692416, 0.07656200046692416),
                                             (0.16650958058978052, -0.005479358201690529, 0.05747935820169055),
                                             (0.008929041140967205, 0.004954720274545313, 0.055045279725454685)]),
          (MixingVariance.tuned(samplesPerVariant: 1000), 0.0016118329996128995,
           [(0.4178379532417822, -0.013255721624537434, 0.07325572162453743),
            (0.19131049103097114, -0.005190336896025171, 0.05719033689602519),
            (0.008451191219986996, 0.004520844903783197, 0.0554791550962168)]),
        ])
  func mixtureSPRTProportions(_ mixing: MixingVariance, _ tau2: Double, _ expected: [(Double, Double, Double)]) throws {
    var test = try MixtureSPRT(alpha: 0.05, mixing: mixing)
    let looks = [(100, 1000, 130, 1000), (210, 2000, 262, 2000), (300, 3000, 390, 3000)]
    for (look, (p, lower, upper)) in zip(looks, expected) {
      try test.update(control: .init(successes: look.0, trials: look.1), candidate: .init(successes: look.2, trials: look.3))
      #expect(isClose(test.pValue, p) && isClose(test.confidenceInterval?.lower, lower) && isClose(test.confidenceInterval?.upper, upper))
    }
    #expect(isClose(test.tauSquared, tau2, rel: 1e-12) && test.isSignificant && test.looks == 3)
  }
}
